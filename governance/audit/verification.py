"""Runs of the audit chain's verification, and the chain's state as the audit page shows it.

A run is recorded whether `manage.py verify_audit` or a worker (an admin's button on the audit page)
did it, so the page can say when the chain was last checked, what was found and how many events were
verified. A run that never finished (its worker died) is shown as unknown, never as intact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.queue import enqueue_on_commit
from core.roles import Role, has_role

from ..models import AuditChainHead, AuditVerification, VerificationSource
from .chain import PROGRESS_EVERY, verify_chain

VERIFIERS = (Role.ADMIN,)
TASK = "governance.tasks.verify_audit_chain"
ONLY_ADMINS = "Only an admin may start a verification of the audit chain."
ALREADY_RUNNING = "A verification of the audit chain is already running; its result shows here when it ends."


def _time_limit() -> dt.timedelta:
    """How long a run may take before it is taken to have died with its worker: the task's hard limit."""
    return dt.timedelta(seconds=settings.KEEL_TASK_TIME_LIMITS[TASK]["time_limit"])


def is_stale(run: AuditVerification, *, now: dt.datetime | None = None) -> bool:
    """An unfinished run older than the task's hard time limit will never finish."""
    return run.finished_at is None and (now or timezone.now()) - run.requested_at > _time_limit()


def running_verification() -> AuditVerification | None:
    """The unfinished run that may still finish, if any."""
    run = AuditVerification.objects.filter(finished_at=None).order_by("-requested_at", "-id").first()
    return run if run is not None and not is_stale(run) else None


@transaction.atomic
def verification_request(*, by) -> AuditVerification:
    """An admin asks a worker to verify the chain: the request is recorded and audited, then queued."""
    if not has_role(by, *VERIFIERS):
        raise PermissionDeniedError(ONLY_ADMINS)
    if running_verification() is not None:
        raise DomainError(ALREADY_RUNNING, code="conflict")
    run = AuditVerification.objects.create(source=VerificationSource.WORKER, triggered_by=by)
    audit.record(actor=by, action="audit.verification_requested", obj=run, after={"source": run.source})
    enqueue_on_commit(TASK, run.pk)
    return run


def verification_run(
    *, verification_id: int | None = None, by=None, progress=None, progress_every: int = PROGRESS_EVERY
) -> AuditVerification:
    """Verify the chain and record the result on the run `verification_id` (a queued request), or on a
    new run of the management command. A run that has already finished is left as it is (idempotent).
    `progress(events_checked)` is called every `progress_every` events of a long chain."""
    if verification_id is None:
        run = AuditVerification.objects.create(source=VerificationSource.COMMAND, triggered_by=by)
    else:
        run = AuditVerification.objects.get(pk=verification_id)
        if run.finished_at is not None:
            return run
    run.started_at = timezone.now()
    run.save(update_fields=["started_at"])
    try:
        result = verify_chain(progress=progress, progress_every=progress_every)
    except BaseException as exc:  # a time limit, a lost database: the run ends, its result unknown
        _finish(run, ok=None, problem=f"The verification could not finish: {type(exc).__name__}: {exc}"[:300])
        raise
    _finish(run, ok=result.ok, checked=result.checked, bad_seq=result.bad_seq, problem=result.problem)
    return run


def _finish(run, *, ok, checked: int = 0, bad_seq: int | None = None, problem: str = "") -> None:
    run.finished_at = timezone.now()
    run.ok, run.events_verified, run.first_bad_seq, run.problem = ok, checked, bad_seq, problem
    run.save(update_fields=["finished_at", "ok", "events_verified", "first_bad_seq", "problem"])


@dataclass(frozen=True)
class ChainState:
    """What the audit page says about the chain."""

    last: AuditVerification | None  # the newest finished run
    running: AuditVerification | None  # a run under way
    abandoned: AuditVerification | None  # a newer run that never finished
    events_now: int  # events in the chain now, by its signed head

    @property
    def events_since(self) -> int | None:
        """Events appended after the last run verified the chain (None: no intact run to count from)."""
        if self.last is None or not self.last.ok:
            return None
        return max(0, self.events_now - self.last.events_verified)


def chain_state() -> ChainState:
    """The newest finished run, any run under way, and the chain's length now: three small queries."""
    runs = list(AuditVerification.objects.select_related("triggered_by").order_by("-requested_at", "-id")[:20])
    last = next((r for r in runs if r.finished_at is not None), None)
    newer = [r for r in runs if r.finished_at is None and (last is None or r.requested_at >= last.requested_at)]
    running = next((r for r in newer if not is_stale(r)), None)
    abandoned = next((r for r in newer if is_stale(r)), None)
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    return ChainState(last=last, running=running, abandoned=abandoned, events_now=head or 0)
