from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import system_health


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 only when database, broker, worker and beat are all ok; 503 otherwise (for probes)."""
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
