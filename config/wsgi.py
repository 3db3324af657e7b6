import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A server without a secret would fail on its first request; refuse to start instead.
from core.startup import require_secret_key  # noqa: E402

require_secret_key()

# Every view, serializer and filter imported now rather than on the first request, so that they are part of
# what is loaded once and for all, which the collector then leaves alone (core.collector.freeze_loaded_app).
from django.urls import get_resolver  # noqa: E402

from core.collector import freeze_loaded_app  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every module it names
freeze_loaded_app()
