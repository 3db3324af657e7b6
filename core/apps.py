from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: roles, API tokens, request context, health, API plumbing."""

    name = "core"
    verbose_name = "Keel core"

    def ready(self) -> None:
        # Celery process signals (heartbeats, task id in the audit context).
        # The system check that refuses to serve without a secret key.
        from . import (
            celery_signals,  # noqa: F401
            startup,  # noqa: F401
        )

        # OpenAPI description of the API token scheme (registers itself with drf-spectacular).
        from .api import schema  # noqa: F401
