"""Risk acceptance's expiry: when an acceptance may run until, and the nightly rule that turns a passed
expiry into a finding.

An acceptance is a judgement about the risk as it stood then; it holds until a date, after which it must
be made again (accepted anew with a new date) or the risk must move on. services.risk_transition calls
acceptance_expiry_check; the beat runs risk_acceptances_expire (governance.tasks.expire_risk_acceptances).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import audit

from ..findings.services import finding_close, finding_open
from ..models import Finding, FindingKind, Risk, RiskStatus, Severity
from .scoring import ACCEPTANCE_NEEDS_RISK_OFFICER

# How far ahead an acceptance may run: long enough for a yearly cycle with slack, short enough that
# no acceptance outlives the people and facts it was made on.
ACCEPTANCE_MAX_DAYS = 3 * 365
ACCEPT_EXPIRY_REQUIRED = "Accepting a {level} residual risk needs an expiry date: until when does the acceptance hold?"
ACCEPT_EXPIRY_PAST = "The acceptance must expire after today ({today:%Y-%m-%d})."
ACCEPT_EXPIRY_TOO_FAR = "The acceptance may run for at most 3 years, until {latest:%Y-%m-%d}."
ACCEPT_EXPIRY_NOT_ACCEPTING = "An expiry date applies only when accepting a risk."

LEVEL_SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}
SUBJECT_TYPE = "governance.risk"


def _today() -> dt.date:
    return timezone.localdate()


def acceptance_expiry_check(*, residual_level: str, expires_on: dt.date | None, today: dt.date | None = None) -> None:
    """Refuse a missing (high/critical), past or too distant expiry, with the field it concerns."""
    today = today or _today()
    if expires_on is None:
        if residual_level in ACCEPTANCE_NEEDS_RISK_OFFICER:
            raise ValidationError({"accept_until": [ACCEPT_EXPIRY_REQUIRED.format(level=residual_level)]})
        return
    if expires_on <= today:
        raise ValidationError({"accept_until": [ACCEPT_EXPIRY_PAST.format(today=today)]})
    latest = today + dt.timedelta(days=ACCEPTANCE_MAX_DAYS)
    if expires_on > latest:
        raise ValidationError({"accept_until": [ACCEPT_EXPIRY_TOO_FAR.format(latest=latest)]})


def acceptance_findings_close(risk: Risk, resolution: str) -> int:
    """Resolve the risk's open 'acceptance expired' finding (accepted again, moved on, or closed)."""
    closed = 0
    for finding in Finding.objects.select_for_update().filter(
        kind=FindingKind.RISK_ACCEPTANCE_EXPIRED, subject_type=SUBJECT_TYPE, subject_id=str(risk.pk), resolved_at=None
    ):
        finding_close(finding, resolution)
        closed += 1
    return closed


@transaction.atomic
def risk_acceptances_expire(*, today: dt.date | None = None) -> dict[str, int]:
    """The nightly rule: each accepted risk whose acceptance ran out gets one 'acceptance expired' finding.

    Idempotent: a risk with an open finding gets no second one (the partial unique constraint also
    forbids it), and a finding someone resolved by hand during this acceptance is not opened again
    every night; a new acceptance that expires in turn gets a new one.
    """
    today = today or _today()
    due = Risk.objects.select_related("project", "owner", "accepted_by").filter(
        status=RiskStatus.ACCEPTED, acceptance_expires_on__lt=today
    )
    # Lock first, so a doubled beat tick waits for this run and then finds every finding open.
    list(due.select_for_update(of=("self",)).values_list("pk", flat=True))
    opened_for = dict(
        Finding.objects.filter(kind=FindingKind.RISK_ACCEPTANCE_EXPIRED, subject_type=SUBJECT_TYPE)
        .order_by()
        .values("subject_id")
        .annotate(last=Max("opened_at"))
        .values_list("subject_id", "last")
    )
    counts = {"expired": 0, "opened": 0}
    for risk in due.order_by("pk"):
        counts["expired"] += 1
        last = opened_for.get(str(risk.pk))
        if last is not None and (risk.accepted_at is None or last >= risk.accepted_at):
            continue  # already opened for this acceptance (open, or resolved by hand)
        audit.record(
            actor=None,
            action="risk.acceptance_expired",
            obj=risk,
            after={"acceptance_expires_on": audit.json_value(risk.acceptance_expires_on)},
        )
        finding_open(
            kind=FindingKind.RISK_ACCEPTANCE_EXPIRED,
            severity=LEVEL_SEVERITY.get(risk.residual_level, Severity.HIGH),
            title=f"Acceptance expired: {risk.title} ({risk.project.name})",
            detail=(
                f"The {risk.residual_level} residual risk was accepted until {risk.acceptance_expires_on:%Y-%m-%d}. "
                "Accept it again with a new expiry date, or move it to mitigating or closed."
            ),
            subject_type=SUBJECT_TYPE,
            subject_id=str(risk.pk),
            project=risk.project,
            assignee=risk.accepted_by or risk.owner,
        )
        counts["opened"] += 1
    return counts
