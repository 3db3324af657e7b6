"""Celery tasks of governance: they take ids, call one service, and own only the retry policy."""

import logging

from celery import shared_task
from django.conf import settings

from projects.registries.adapters.base import TransientRegistryError

from .audit.checkpoints import AuditKeyMissing, ChainBroken, checkpoint_sign
from .audit.verification import verification_run
from .compliance.services import obligations_evaluate, obligations_evaluate_all
from .dashboard.value_decay import value_decay_check
from .lineage.apply import drain
from .lineage.pending_links import model_references_check
from .lineage.queue import pending_ids
from .monitoring.services import signals_check_stale
from .notifications import delivery as notification_delivery
from .notifications import rules as notification_rules
from .risks.assessments import tier_assessments_apply_dated_rules
from .risks.services import risk_reviews_mark_overdue
from .risks.services_acceptance import risk_acceptances_expire
from .signoff.deployments import deployments_sweep
from .signoff.invalidation import signoffs_expire
from .signoff.unowned import unowned_models_check
from .signoff.writeback import signoff_write_back as write_back

logger = logging.getLogger(__name__)


@shared_task(
    name="governance.tasks.mark_overdue_reviews",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.mark_overdue_reviews"],
)
def mark_overdue_reviews() -> dict:
    """Daily: apply rules whose date has come, flag risks past their review date, open findings."""
    reassessed = tier_assessments_apply_dated_rules()
    return {**risk_reviews_mark_overdue(), "reassessed": reassessed}


@shared_task(
    name="governance.tasks.check_value_decay",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.check_value_decay"],
)
def check_value_decay() -> dict:
    """Daily: open a finding per project whose actual value stays below plan; resolve recovered ones."""
    return value_decay_check()


@shared_task(
    name="governance.tasks.expire_signoffs",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.expire_signoffs"],
)
def expire_signoffs() -> int:
    """Hourly: approvals past their re-certification date expire (finding + mail); versions serving
    production without a valid sign-off get their finding (e.g. a model linked while it serves)."""
    expired = signoffs_expire()
    deployments_sweep()
    unowned_models_check()  # what no event announces, e.g. a deleted project left its models unowned
    return expired


@shared_task(
    name="governance.tasks.signoff_write_back",
    bind=True,
    ignore_result=True,
    max_retries=5,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.signoff_write_back"],
)
def signoff_write_back(self, request_pk: int) -> str:
    """Set keel.signoff=<status> on the registry's model version (registries that opted in).

    Setting a tag is idempotent, so a retry after a timeout cannot do harm; the status written is
    the one the request has when the task runs, so late retries never write a stale status.
    """
    try:
        return write_back(request_pk=request_pk)
    except TransientRegistryError as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc


@shared_task(
    name="governance.tasks.evaluate_obligations",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.evaluate_obligations"],
)
def evaluate_obligations() -> int:
    """Hourly: re-derive every project's compliance obligations, catching what no event announces (a
    changed tier, a model newly linked to a project). Idempotent: unchanged obligations write nothing."""
    return obligations_evaluate_all()


@shared_task(
    name="governance.tasks.evaluate_project_obligations",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.evaluate_project_obligations"],
)
def evaluate_project_obligations(project_id: int) -> int:
    """Right after a project's tier changed: re-derive its obligations (the hourly run is the backstop)."""
    return obligations_evaluate(project_ids=[project_id])


@shared_task(
    name="governance.tasks.expire_risk_acceptances",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.expire_risk_acceptances"],
)
def expire_risk_acceptances() -> dict:
    """Daily: each accepted risk whose acceptance ran out gets one 'acceptance expired' finding (idempotent)."""
    return risk_acceptances_expire()


@shared_task(
    name="governance.tasks.verify_audit_chain",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.verify_audit_chain"],
)
def verify_audit_chain(verification_id: int) -> bool | None:
    """An admin asked on the audit page: walk the chain and record the result on their request's run.
    Read-only on the chain and idempotent (a finished run is not run again), so a retry is harmless."""
    return verification_run(verification_id=verification_id).ok


@shared_task(
    name="governance.tasks.check_model_references",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.check_model_references"],
)
def check_model_references() -> dict:
    """Every 5 minutes: link lineage model references whose version or project has appeared (the sync's
    event does it at once; this catches what no event announces), and open a finding for each one still
    unresolved past KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES. Idempotent."""
    return model_references_check()


@shared_task(
    name="governance.tasks.apply_lineage",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.apply_lineage"],
)
def apply_lineage() -> int:
    """After a lineage POST (debounced) and on the beat tick: apply the waiting events in batches. One
    applier at a time (a lease); a run that finds another at work returns at once. A run stopped by its
    time budget while events still wait asks for the next run."""
    applied = drain(
        max_seconds=settings.KEEL_TASK_TIME_LIMITS["governance.tasks.apply_lineage"]["soft_time_limit"] - 40
    )
    if pending_ids(1):
        apply_lineage.delay()
    return applied


@shared_task(
    name="governance.tasks.notify_event",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.notify_event"],
)
def notify_event(event: str, object_id: int | list[int]) -> int:
    """Tell the people (and channels) concerned by one governance event (notifications/rules.py), or by
    several of one kind at once (`findings_opened`: a list of ids)."""
    return notification_rules.EVENTS[event](object_id)


@shared_task(
    name="governance.tasks.deliver_notifications",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.deliver_notifications"],
)
def deliver_notifications(ids: list[int] | None = None) -> dict:
    """Send these deliveries (or, from beat, every one that is due: waiting, or failed and due to retry)."""
    return notification_delivery.deliver(ids) if ids else notification_delivery.deliver_due()


@shared_task(
    name="governance.tasks.send_reminders_and_digests",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.send_reminders_and_digests"],
)
def send_reminders_and_digests() -> dict:
    """Daily: reminders of what is overdue, then the digests of what people chose to read once a day."""
    reminded = notification_rules.send_reminders()
    digests = notification_rules.send_digests()
    return {"reminders": reminded, "digests": digests, "sent": notification_delivery.deliver_due()}


@shared_task(
    name="governance.tasks.sign_audit_checkpoint",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.sign_audit_checkpoint"],
)
def sign_audit_checkpoint() -> int | None:
    """On its interval: sign a checkpoint of the audit chain's head (none if it has not moved); its seq.
    No key, or a chain that no longer re-hashes: nothing is signed, and the log says why (a retry would
    find the same)."""
    try:
        checkpoint = checkpoint_sign()
    except AuditKeyMissing as exc:
        logger.warning("%s", exc)
        return None
    except ChainBroken as exc:
        logger.error("%s", exc)
        return None
    return checkpoint.seq if checkpoint is not None else None


@shared_task(
    name="governance.tasks.check_stale_signals",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["governance.tasks.check_stale_signals"],
)
def check_stale_signals() -> dict:
    """Beat: planned monitoring signals that stopped arriving for a version in production open a finding
    each; ones that came back resolve theirs. Idempotent: one open finding per (plan item, version)."""
    return signals_check_stale()
