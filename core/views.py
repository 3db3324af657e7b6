from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .api.exceptions import error_body
from .health import readiness, system_health
from .roles import is_admin

NO_API_ROUTE = "No API endpoint at this path."

# Probes are anonymous: they get each part's state and heartbeat times, but not raw exception text
# (it can name hosts and database users) nor which host and process answered.
PRIVATE_FIELDS = ("where",)
HIDDEN_ERROR = "unreachable (details for signed-in admins and in the logs)"


def _for_public(report: dict) -> dict:
    public = {"status": report["status"]}
    for part in ("database", "broker", "worker", "beat"):
        check = {k: v for k, v in report[part].items() if k not in PRIVATE_FIELDS}
        if part in ("database", "broker") and "error" in check:
            check["error"] = HIDDEN_ERROR
        public[part] = check
    return public


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 only when database, broker, worker and beat are all ok; 503 otherwise (for probes)."""
    report = system_health()
    body = report if is_admin(request.user) else _for_public(report)
    return JsonResponse(body, status=200 if report["status"] == "ok" else 503)


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """200 when this web process can serve (database up, schema current); 503 otherwise. For load
    balancers' readiness probes: /healthz also needs workers and beat, which serving does not."""
    report = readiness()
    if not is_admin(request.user):
        report = {
            part: {**check, "error": HIDDEN_ERROR} if isinstance(check, dict) and "error" in check else check
            for part, check in report.items()
        }
    return JsonResponse(report, status=200 if report["status"] == "ready" else 503)


def page_not_found(request, exception):
    """handler404: a path under /api/ that matches no route (`/api/v1/signoffs/1.1/reject/`) answers the API's JSON
    error body like every other API refusal; everywhere else people get the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(detail=NO_API_ROUTE, code="not_found"), status=404)
    return defaults.page_not_found(request, exception)


class SignInView(LoginView):
    """Django's sign-in page, offering the organisation's single sign-on when it is configured and the
    password form unless local passwords are turned off (KEEL_LOCAL_PASSWORDS)."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            oidc_enabled=bool(settings.KEEL_OIDC_ISSUER),
            oidc_provider_name=settings.KEEL_OIDC_PROVIDER_NAME,
            local_passwords=settings.KEEL_LOCAL_PASSWORDS,
            **kwargs,
        )
