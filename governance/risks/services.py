"""The only code that writes the risk register: risks, their mitigations, reviews and the overdue rule.

Each service is one transaction that validates, writes and appends its audit event.
"""

from __future__ import annotations

import copy
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import audit
from core.errors import PermissionDeniedError, TransitionError
from core.services import model_create, model_update
from projects.models import AIProject

from ..findings.services import finding_close, finding_open
from ..models import RISK_TRANSITIONS, Finding, FindingKind, Mitigation, Risk, RiskStatus, Severity
from . import events, scoring
from . import services_acceptance as acceptance
from .permissions import can_accept_residual, can_edit_risks

RISK_FIELDS = (
    "title", "description", "category", "likelihood", "impact", "residual_likelihood", "residual_impact",
    "residual_justification", "owner", "status", "next_review_date",
)  # fmt: skip
RISK_EDITABLE = (
    "title", "description", "category", "likelihood", "impact", "residual_likelihood", "residual_impact",
    "residual_justification", "owner",
)  # fmt: skip
MITIGATION_FIELDS = ("action", "owner", "due_date", "status")

NOT_YOUR_PROJECT = "You can only change the risk register of a project of a team you lead or belong to."
RESIDUAL_ABOVE_INHERENT = (
    "The residual score ({residual}) is above the inherent score ({inherent}); explain why in the residual "
    "justification, or lower the residual likelihood or impact."
)
ILLEGAL_RISK_TRANSITION = "A risk cannot move from {current} to {target}. Allowed: {allowed}."
SAME_RISK_STATUS = "The risk is already {status}."
ACCEPT_NEEDS_JUSTIFICATION = "Accepting a risk needs a written justification."
ACCEPT_NEEDS_RISK_OFFICER = (
    "Only a risk officer can accept a risk whose residual level is {level}; ask a risk officer to review it."
)


def _scale_errors(fields: dict) -> dict[str, list[str]]:
    errors = {}
    for name in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
        if name in fields:
            try:
                scoring.check_scale(name.replace("_", " ").capitalize(), fields[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    return errors


def _validate_risk(risk: Risk) -> None:
    errors = _scale_errors(
        {n: getattr(risk, n) for n in ("likelihood", "impact", "residual_likelihood", "residual_impact")}
    )
    if errors:
        raise ValidationError(errors)
    risk.compute_scores()
    if risk.residual_score > risk.inherent_score and not risk.residual_justification.strip():
        raise ValidationError(
            {
                "residual_justification": [
                    RESIDUAL_ABOVE_INHERENT.format(residual=risk.residual_score, inherent=risk.inherent_score)
                ]
            }
        )
    risk.full_clean()


def _today() -> dt.date:
    return timezone.localdate()


# --- risks --------------------------------------------------------------------------------------


@transaction.atomic
def risk_create(*, by, project: AIProject, **fields) -> Risk:
    if by is not None and not can_edit_risks(by, project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    unknown = set(fields) - set(RISK_EDITABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be set here."] for name in sorted(unknown)})
    fields.setdefault("residual_likelihood", fields.get("likelihood"))
    fields.setdefault("residual_impact", fields.get("impact"))
    if fields.get("owner") is None:
        fields["owner"] = by or project.owner
    risk = Risk(project=project, **fields)
    _validate_risk_with_date(risk)
    risk.save()
    audit.record(actor=by, action="risk.created", obj=risk, after=_snapshot(risk))
    events.project_risks_changed.send(sender=None, project=project)  # a new high or critical risk invalidates sign-offs
    return risk


def _validate_risk_with_date(risk: Risk) -> None:
    # The review date follows the residual level; set before full_clean, which requires it.
    if any(getattr(risk, n) is None for n in ("residual_likelihood", "residual_impact")):
        raise ValidationError({"residual_likelihood": ["Give the residual likelihood and impact (1–5)."]})
    errors = _scale_errors({n: getattr(risk, n) for n in ("residual_likelihood", "residual_impact")})
    if not errors:
        risk.next_review_date = scoring.next_review(risk.residual_likelihood, risk.residual_impact, after=_today())
    _validate_risk(risk)


def _snapshot(risk: Risk) -> dict:
    data = audit.snapshot(risk, RISK_FIELDS)
    data.update(
        inherent_score=risk.inherent_score, residual_score=risk.residual_score, residual_level=risk.residual_level
    )
    return data


# What risk_update may write: the editable fields, the figures derived from them, and the acceptance
# that a change of scores withdraws.
RISK_UPDATE_WRITES = (
    *RISK_EDITABLE, "inherent_score", "residual_score", "residual_level", "next_review_date", "status",
    "acceptance_justification", "accepted_by", "accepted_at", "acceptance_expires_on",
)  # fmt: skip
SCORED_FIELDS = ("likelihood", "impact", "residual_likelihood", "residual_impact")


def _risk_update_data(risk: Risk, fields: dict) -> dict:
    """The edit as model_update applies it: the fields given plus what follows from them, worked out on a
    copy so the locked row changes only through model_update (and nothing is written when nothing changed).

    A new residual level brings a new review date, unless the review is overdue: then it stays due (and
    its finding open) until someone reviews. Scores changed on an accepted risk withdraw the acceptance,
    which covered the old scores, not these: the risk is open again, so a raised residual level goes back
    through a (risk officer's, if high) acceptance.
    """
    draft = copy.copy(risk)
    for name, value in fields.items():
        setattr(draft, name, value)
    residual_moved = (draft.residual_likelihood, draft.residual_impact) != (
        risk.residual_likelihood,
        risk.residual_impact,
    )
    if residual_moved and not draft.review_overdue:
        _validate_risk_with_date(draft)
    else:
        _validate_risk(draft)
    data = {
        **fields, "inherent_score": draft.inherent_score, "residual_score": draft.residual_score,
        "residual_level": draft.residual_level, "next_review_date": draft.next_review_date,
    }  # fmt: skip
    rescored = any(getattr(draft, name) != getattr(risk, name) for name in SCORED_FIELDS)
    if risk.status == RiskStatus.ACCEPTED and rescored:
        data.update(
            status=RiskStatus.OPEN, acceptance_justification="", accepted_by=None, accepted_at=None,
            acceptance_expires_on=None,
        )  # fmt: skip
    return data


@transaction.atomic
def risk_update(*, by, risk: Risk, **fields) -> Risk:
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    unknown = set(fields) - set(RISK_EDITABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    data = _risk_update_data(risk, fields)
    was_accepted = risk.status == RiskStatus.ACCEPTED
    risk, changed = model_update(instance=risk, fields=RISK_UPDATE_WRITES, data=data, by=by, action="risk.updated")
    if was_accepted and risk.status != RiskStatus.ACCEPTED:
        acceptance.acceptance_findings_close(risk, "The risk was rescored, which withdrew its acceptance.")
    if changed:
        # A residual level raised to high counts as a new high risk.
        events.project_risks_changed.send(sender=None, project=risk.project)
    return risk


def _check_transition(risk: Risk, status: str) -> None:
    if status not in RiskStatus.values:
        raise ValidationError({"status": [f"Unknown status {status!r}. Statuses: {', '.join(RiskStatus.values)}."]})
    if status == risk.status == RiskStatus.ACCEPTED:
        return  # accepting an accepted risk again renews its acceptance (a new justification and expiry)
    if status == risk.status:
        raise TransitionError(SAME_RISK_STATUS.format(status=risk.status), field="status")
    if status not in RISK_TRANSITIONS[risk.status]:
        allowed = ", ".join(s for s in RiskStatus.values if s in RISK_TRANSITIONS[risk.status])
        raise TransitionError(
            ILLEGAL_RISK_TRANSITION.format(current=risk.status, target=status, allowed=allowed), field="status"
        )


def _accept(risk: Risk, *, by, justification: str, accept_until: dt.date | None, before: dict, after: dict) -> None:
    """Accepting is also a review: the review date moves on by the cadence and the overdue flag clears."""
    if not justification.strip():
        raise ValidationError({"justification": [ACCEPT_NEEDS_JUSTIFICATION]})
    if by is not None and not can_accept_residual(by, risk.residual_level):
        raise PermissionDeniedError(ACCEPT_NEEDS_RISK_OFFICER.format(level=risk.residual_level))
    acceptance.acceptance_expiry_check(residual_level=risk.residual_level, expires_on=accept_until, today=_today())
    before.update(
        acceptance_expires_on=audit.json_value(risk.acceptance_expires_on),
        next_review_date=audit.json_value(risk.next_review_date),
        review_overdue=risk.review_overdue,
    )
    risk.acceptance_justification = justification.strip()
    risk.accepted_by = by
    risk.accepted_at = risk.last_reviewed_at = timezone.now()
    risk.acceptance_expires_on = accept_until
    risk.next_review_date = scoring.next_review(risk.residual_likelihood, risk.residual_impact, after=_today())
    risk.review_overdue = False
    after.update(
        justification=risk.acceptance_justification,
        residual_level=risk.residual_level,
        residual_score=risk.residual_score,
        acceptance_expires_on=audit.json_value(accept_until),
        next_review_date=audit.json_value(risk.next_review_date),
        review_overdue=False,
    )


@transaction.atomic
def risk_transition(
    *, by, risk: Risk, status: str, justification: str = "", accept_until: dt.date | None = None
) -> Risk:
    """Move a risk along open → mitigating → accepted | closed; accepting an accepted risk renews it.

    Accepting a high or critical residual risk is a risk officer's call, with a written justification
    and an expiry date (services_acceptance); it counts as a review of the risk.
    """
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    _check_transition(risk, status)
    if accept_until is not None and status != RiskStatus.ACCEPTED:
        raise ValidationError({"accept_until": [acceptance.ACCEPT_EXPIRY_NOT_ACCEPTING]})
    before = {"status": risk.status}
    after = {"status": status}
    if status == RiskStatus.ACCEPTED:
        _accept(risk, by=by, justification=justification, accept_until=accept_until, before=before, after=after)
    else:
        if justification:
            after["justification"] = justification.strip()
        if risk.status == RiskStatus.ACCEPTED:
            # Leaving acceptance: the old acceptance no longer stands (the audit trail keeps it).
            risk.acceptance_justification, risk.accepted_by, risk.accepted_at = "", None, None
            risk.acceptance_expires_on = None
    if status == RiskStatus.CLOSED and risk.review_overdue:
        # A closed risk is no longer reviewed, so it is no longer overdue either.
        risk.review_overdue = False
        before["review_overdue"], after["review_overdue"] = True, False
    risk.status = status
    risk.save()
    audit.record(actor=by, action=f"risk.{status}", obj=risk, before=before, after=after)
    renewed = "The risk was accepted again."
    acceptance.acceptance_findings_close(
        risk, renewed if status == RiskStatus.ACCEPTED else f"The risk moved to {status}."
    )
    if status == RiskStatus.CLOSED:
        _resolve_findings(risk, "The risk was closed.")
    else:
        if status == RiskStatus.ACCEPTED:
            _resolve_findings(risk, "The risk was accepted, which counts as a review.")
        events.project_risks_changed.send(sender=None, project=risk.project)  # e.g. a closed risk opened again
    return risk


@transaction.atomic
def risk_review(*, by, risk: Risk, note: str = "") -> Risk:
    """Record a review: the next review date moves on by the residual level's cadence; overdue clears."""
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    before = {"next_review_date": audit.json_value(risk.next_review_date), "review_overdue": risk.review_overdue}
    risk.last_reviewed_at = timezone.now()
    risk.next_review_date = scoring.next_review(risk.residual_likelihood, risk.residual_impact, after=_today())
    risk.review_overdue = False
    risk.save(update_fields=["last_reviewed_at", "next_review_date", "review_overdue", "updated_at"])
    after = {"next_review_date": audit.json_value(risk.next_review_date), "review_overdue": False}
    if note:
        after["note"] = note
    audit.record(actor=by, action="risk.reviewed", obj=risk, before=before, after=after)
    _resolve_findings(risk, "The risk was reviewed.")
    return risk


@transaction.atomic
def mitigation_create(*, by, risk: Risk, **fields) -> Mitigation:
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    fields.setdefault("owner", by or risk.owner)
    mitigation = Mitigation(risk=risk, **fields)
    return model_create(
        instance=mitigation, by=by, action="mitigation.created", fields=MITIGATION_FIELDS, extra={"risk": risk.pk}
    )


@transaction.atomic
def mitigation_update(*, by, mitigation: Mitigation, **fields) -> Mitigation:
    mitigation = Mitigation.objects.select_for_update().select_related("risk__project").get(pk=mitigation.pk)
    if by is not None and not can_edit_risks(by, mitigation.risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    mitigation, _ = model_update(
        instance=mitigation, fields=MITIGATION_FIELDS, data=fields, by=by, action="mitigation.updated"
    )
    return mitigation


# --- overdue reviews and their findings ---------------------------------------------------------

REVIEW_FINDING_LEVELS = {"high": Severity.HIGH, "critical": Severity.CRITICAL}


def _resolve_findings(risk: Risk, resolution: str) -> int:
    resolved = 0
    for finding in Finding.objects.select_for_update().filter(
        kind=FindingKind.RISK_REVIEW_OVERDUE, subject_type="governance.risk", subject_id=str(risk.pk), resolved_at=None
    ):
        finding_close(finding, resolution)
        resolved += 1
    return resolved


@transaction.atomic
def risk_reviews_mark_overdue(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily rule: flag risks past their review date; open one finding per overdue high/critical risk.

    Idempotent: a risk already flagged is not flagged again, and the partial unique constraint on
    open findings makes a second finding for the same risk impossible, however often this runs.
    """
    today = today or _today()
    counts = {"marked": 0, "opened": 0}
    due = Risk.objects.select_related("project").filter(
        next_review_date__lt=today, status__in=[RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.ACCEPTED]
    )
    # Lock the due risks before deciding: a concurrent run (a doubled beat tick) waits here until this
    # one commits, then finds them flagged and their findings open, and writes nothing.
    list(due.select_for_update(of=("self",)).values_list("pk", flat=True))
    for risk in due.filter(review_overdue=False):
        Risk.objects.filter(pk=risk.pk).update(review_overdue=True)
        audit.record(
            actor=None,
            action="risk.review_overdue",
            obj=risk,
            before={"review_overdue": False},
            after={"review_overdue": True, "next_review_date": audit.json_value(risk.next_review_date)},
        )
        counts["marked"] += 1
    open_for = set(
        Finding.objects.filter(kind=FindingKind.RISK_REVIEW_OVERDUE, resolved_at=None).values_list(
            "subject_id", flat=True
        )
    )
    # When each risk last had a finding opened: a finding someone resolved by hand during this overdue
    # period is not opened again every night; the next period (after a review) gets a new one.
    last_opened = dict(
        Finding.objects.filter(kind=FindingKind.RISK_REVIEW_OVERDUE, subject_type="governance.risk")
        .order_by()
        .values("subject_id")
        .annotate(last=Max("opened_at"))
        .values_list("subject_id", "last")
    )
    for risk in due.filter(residual_level__in=list(REVIEW_FINDING_LEVELS)):
        if str(risk.pk) in open_for:
            continue
        last = last_opened.get(str(risk.pk))
        if last is not None and timezone.localdate(last) >= risk.next_review_date:
            continue
        finding_open(
            kind=FindingKind.RISK_REVIEW_OVERDUE,
            severity=REVIEW_FINDING_LEVELS[risk.residual_level],
            title=f"Review overdue: {risk.title} ({risk.project.name})",
            detail=f"The {risk.residual_level} residual risk was due for review on {risk.next_review_date:%Y-%m-%d}.",
            subject_type="governance.risk",
            subject_id=str(risk.pk),
            project=risk.project,
            assignee=risk.owner,
        )
        counts["opened"] += 1
    return counts
