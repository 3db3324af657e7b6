"""What a serving process needs before it starts: checked by `check --deploy`, wsgi/asgi and Celery.

Keel leaves SECRET_KEY empty when DJANGO_SECRET_KEY is unset (outside the embedded demo), so that
build steps (makemigrations, migrate, collectstatic) run without secrets. Everything that serves
requests or writes audited data signs with the key, so those processes refuse to start without it
instead of failing on their first request.
"""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

NO_SECRET_KEY = "Set the DJANGO_SECRET_KEY environment variable (or KEEL_EMBEDDED=true for the demo)."  # noqa: S105


def secret_key_is_set() -> bool:
    from django.conf import settings

    try:
        return bool(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return False


def require_secret_key() -> None:
    if not secret_key_is_set():
        raise ImproperlyConfigured(NO_SECRET_KEY)


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    """keel.E001 for `check --deploy`; runserver, gunicorn and Celery refuse to start by themselves."""
    if secret_key_is_set():
        return []
    return [checks.Error(NO_SECRET_KEY, id="keel.E001")]


NO_GATE_KEY = (
    "Set KEEL_GATE_SIGNING_KEY to an Ed25519 private key (PEM, or the base64 of its 32-byte seed): without it "
    "the deployment gate answers 503 (README, 'Deployment gate')."
)


@checks.register(checks.Tags.security, deploy=True)
def check_gate_signing_key(app_configs, **kwargs):
    """keel.W002: production needs the gate's signing key; the embedded demo makes its own under var/."""
    from django.conf import settings

    if settings.EMBEDDED or settings.KEEL_GATE_SIGNING_KEY:
        return []
    return [checks.Warning(NO_GATE_KEY, id="keel.W002")]
