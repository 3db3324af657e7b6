import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A server without a secret would fail on its first request; refuse to start instead.
from core.startup import require_secret_key  # noqa: E402

require_secret_key()
