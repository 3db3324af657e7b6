"""The Celery app, and the one place the beat schedule is defined (its intervals are settings)."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _beat_schedule(sender, source, **kwargs) -> None:
    """Set once Celery has read Django's settings: reading them when this module is imported would
    load config.settings from inside its own import (config/__init__.py imports this module)."""
    source.beat_schedule = {
        # Proves to /healthz that beat is ticking (beat records the send) and that a worker is
        # consuming (the worker records the run).
        "keel-heartbeat": {
            "task": "core.tasks.heartbeat",
            "schedule": float(settings.KEEL_HEARTBEAT_SECONDS),
        },
        # Each registry has its own interval; this tick enqueues the ones that are due.
        "keel-sync-due-registries": {
            "task": "projects.tasks.sync_due_registries",
            "schedule": float(settings.KEEL_SYNC_TICK_SECONDS),
        },
        # Daily at 02:00 UTC; the rule is idempotent, so a doubled tick or a catch-up run is harmless.
        "keel-mark-overdue-reviews": {
            "task": "governance.tasks.mark_overdue_reviews",
            "schedule": crontab(hour=2, minute=0),
        },
        # Daily at 02:15 UTC: risk acceptances past their expiry date open a finding each; idempotent.
        "keel-expire-risk-acceptances": {
            "task": "governance.tasks.expire_risk_acceptances",
            "schedule": crontab(hour=2, minute=15),
        },
        # Daily at 02:30 UTC: value decay opens/resolves one finding per project; idempotent.
        "keel-check-value-decay": {
            "task": "governance.tasks.check_value_decay",
            "schedule": crontab(hour=2, minute=30),
        },
        # Compliance obligations re-derived from tier + PII facts (events cover lineage; this catches tier
        # changes and new model links); idempotent.
        "keel-evaluate-obligations": {
            "task": "governance.tasks.evaluate_obligations",
            "schedule": float(settings.KEEL_OBLIGATIONS_TICK_SECONDS),
        },
        # Notification deliveries that wait, or failed and are due to be retried.
        "keel-deliver-notifications": {
            "task": "governance.tasks.deliver_notifications",
            "schedule": float(settings.KEEL_NOTIFY_DELIVER_TICK_SECONDS),
        },
        # Daily: reminders of what is overdue, and the digests; the day's key makes a doubled tick harmless.
        "keel-reminders-and-digests": {
            "task": "governance.tasks.send_reminders_and_digests",
            "schedule": crontab(hour=settings.KEEL_NOTIFY_DIGEST_HOUR, minute=0),
        },
        # Every 5 minutes: lineage model references whose version appeared are linked, and those unresolved
        # past KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES open a finding; idempotent.
        "keel-check-model-references": {
            "task": "governance.tasks.check_model_references",
            "schedule": crontab(minute="*/5"),
        },
        # Waiting lineage events applied even when a POST could not reach the broker; idempotent (a run
        # that finds another applier at work, or nothing waiting, returns at once).
        "keel-apply-lineage": {
            "task": "governance.tasks.apply_lineage",
            "schedule": float(settings.KEEL_LINEAGE_APPLY_TICK_SECONDS),
        },
        # A signed checkpoint of the audit chain's head (none when the head has not moved since the last).
        "keel-sign-audit-checkpoint": {
            "task": "governance.tasks.sign_audit_checkpoint",
            "schedule": float(settings.KEEL_AUDIT_CHECKPOINT_SECONDS),
        },
        # Approvals past their re-certification date expire; idempotent.
        "keel-expire-signoffs": {
            "task": "governance.tasks.expire_signoffs",
            "schedule": float(settings.KEEL_SIGNOFF_EXPIRY_TICK_SECONDS),
        },
        # Planned monitoring signals that stopped arriving open a finding; idempotent.
        "keel-check-stale-signals": {
            "task": "governance.tasks.check_stale_signals",
            "schedule": float(settings.KEEL_SIGNAL_STALE_TICK_SECONDS),
        },
    }
