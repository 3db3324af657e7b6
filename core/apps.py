from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: roles, API tokens, request context, health, API plumbing."""

    name = "core"
    verbose_name = "Keel core"

    def ready(self) -> None:
        # Celery process signals (heartbeats, task id in the audit context).
        # The system check that refuses to serve without a secret key.
        # Access changes, sign-ins and schedule edits reach the audit trail through Django's signals:
        # the admin, auth and beat make those writes themselves, not through a Keel service.
        # The single sign-on settings check registers itself with Django's system checks.
        from . import (
            access_audit,
            celery_signals,  # noqa: F401
            oidc,  # noqa: F401
            schedule_audit,
            startup,  # noqa: F401
        )

        access_audit.connect()

        # PostgreSQL timestamps read in C (core/pg_types.py).
        from django.db.backends.signals import connection_created

        from .pg_types import install_timestamp_loader

        connection_created.connect(install_timestamp_loader, dispatch_uid="core.pg_types.timestamp_loader")
        schedule_audit.connect()

        # OpenAPI description of the API token scheme (registers itself with drf-spectacular).
        from .api import schema  # noqa: F401
