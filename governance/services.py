"""The only code that writes governance records (besides the audit trail itself, in audit.py).

Each service is one transaction that validates, writes and appends its audit event.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError, TransitionError
from projects.models import AIProject

from . import risk_scoring, tiering
from .findings import finding_close, finding_open
from .models import (
    RISK_TRANSITIONS,
    Finding,
    FindingKind,
    Mitigation,
    Risk,
    RiskStatus,
    RiskTierAssessment,
    Severity,
)
from .permissions import can_accept_residual, can_assess_tier, can_edit_risks, can_manage_findings
from .signoff.invalidation import signoffs_revalidate

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
ACCEPTANCE_LAPSED = "The scores changed after the risk was accepted; it is open again until accepted anew."
FINDINGS_RISK_OFFICERS_ONLY = "Only risk officers and admins can assign or resolve findings."
FINDING_ALREADY_RESOLVED = "This finding is already resolved."


def _scale_errors(fields: dict) -> dict[str, list[str]]:
    errors = {}
    for name in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
        if name in fields:
            try:
                risk_scoring.check_scale(name.replace("_", " ").capitalize(), fields[name])
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


# --- tier assessment ----------------------------------------------------------------------------


@transaction.atomic
def tier_assessment_submit(*, by, project: AIProject, answers: dict) -> RiskTierAssessment:
    """Assess the project's tier from the questionnaire; a new version each time, the history kept."""
    if by is not None and not can_assess_tier(by, project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    try:
        result = tiering.assess(answers, on=_today())
    except tiering.AnswerError as exc:
        raise ValidationError({"answers": [f"{k}: {v}" for k, v in exc.errors.items()]}) from exc
    normalised = tiering.normalise(answers)
    project = AIProject.objects.select_for_update().get(pk=project.pk)
    version = (RiskTierAssessment.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0) + 1
    assessment = RiskTierAssessment.objects.create(
        project=project,
        version=version,
        answers=normalised,
        answers_hash=tiering.answers_hash(normalised),
        tier=result.tier,
        route=result.route,
        flags=result.flags,
        explanation=result.explanation,
        assessed_by=by,
    )
    previous_tier = project.risk_tier
    if previous_tier != result.tier:
        AIProject.objects.filter(pk=project.pk).update(risk_tier=result.tier)
    audit.record(
        actor=by,
        action="tier_assessment.submitted",
        obj=assessment,
        before={"tier": previous_tier} if version > 1 else None,
        after={"project": project.pk, "version": version, "tier": result.tier, "route": result.route,
               "flags": result.flags, "answers_hash": assessment.answers_hash},
    )  # fmt: skip
    # Sign-offs cover the answers they were given against: changed answers invalidate them; the tier
    # also decides which obligations apply.
    signoffs_revalidate(project=project)
    _evaluate_obligations_after_commit(project.pk)
    return assessment


def _evaluate_obligations_after_commit(project_id: int) -> None:
    """The tier decides which compliance obligations apply: a worker re-derives them once this commits
    (their findings and audit events are that task's, not the assessment's)."""
    from .tasks import evaluate_project_obligations

    transaction.on_commit(lambda: evaluate_project_obligations.delay(project_id))


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
    signoffs_revalidate(project=project)  # a new high or critical risk invalidates sign-offs
    return risk


def _validate_risk_with_date(risk: Risk) -> None:
    # The review date follows the residual level; set before full_clean, which requires it.
    if any(getattr(risk, n) is None for n in ("residual_likelihood", "residual_impact")):
        raise ValidationError({"residual_likelihood": ["Give the residual likelihood and impact (1–5)."]})
    errors = _scale_errors({n: getattr(risk, n) for n in ("residual_likelihood", "residual_impact")})
    if not errors:
        risk.next_review_date = risk_scoring.next_review(risk.residual_likelihood, risk.residual_impact, after=_today())
    _validate_risk(risk)


def _snapshot(risk: Risk) -> dict:
    data = audit.snapshot(risk, RISK_FIELDS)
    data.update(
        inherent_score=risk.inherent_score, residual_score=risk.residual_score, residual_level=risk.residual_level
    )
    return data


@transaction.atomic
def risk_update(*, by, risk: Risk, **fields) -> Risk:
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    unknown = set(fields) - set(RISK_EDITABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    before = _snapshot(risk)
    old_residual = (risk.residual_likelihood, risk.residual_impact)
    for name, value in fields.items():
        setattr(risk, name, value)
    if (risk.residual_likelihood, risk.residual_impact) != old_residual and not risk.review_overdue:
        _validate_risk_with_date(risk)  # a new residual level brings a new review date
    else:
        _validate_risk(risk)  # a review that is overdue stays due (and its finding open) until someone reviews
    old, new = audit.changes(before, _snapshot(risk))
    if not new:
        return risk
    scored = {"likelihood", "impact", "residual_likelihood", "residual_impact"}
    if risk.status == RiskStatus.ACCEPTED and scored & set(new):
        # The acceptance covered the old scores, not these: it lapses and the risk is open again, so a
        # raised residual level goes back through a (risk officer's, if high) acceptance.
        old.update(status=RiskStatus.ACCEPTED, accepted_by=risk.accepted_by_id)
        new.update(status=RiskStatus.OPEN, accepted_by=None, acceptance_withdrawn=ACCEPTANCE_LAPSED)
        risk.status = RiskStatus.OPEN
        risk.acceptance_justification, risk.accepted_by, risk.accepted_at = "", None, None
    risk.save()
    audit.record(actor=by, action="risk.updated", obj=risk, before=old, after=new)
    signoffs_revalidate(project=risk.project)  # a residual level raised to high counts as a new high risk
    return risk


@transaction.atomic
def risk_transition(*, by, risk: Risk, status: str, justification: str = "") -> Risk:
    """Move a risk along open → mitigating → accepted | closed.

    Accepting a high or critical residual risk is a risk officer's call, with a written justification.
    """
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    if status not in RiskStatus.values:
        raise ValidationError({"status": [f"Unknown status {status!r}. Statuses: {', '.join(RiskStatus.values)}."]})
    if status == risk.status:
        raise TransitionError(SAME_RISK_STATUS.format(status=risk.status), field="status")
    if status not in RISK_TRANSITIONS[risk.status]:
        allowed = ", ".join(s for s in RiskStatus.values if s in RISK_TRANSITIONS[risk.status])
        raise TransitionError(
            ILLEGAL_RISK_TRANSITION.format(current=risk.status, target=status, allowed=allowed), field="status"
        )
    before = {"status": risk.status}
    after = {"status": status}
    if status == RiskStatus.ACCEPTED:
        if not justification.strip():
            raise ValidationError({"justification": [ACCEPT_NEEDS_JUSTIFICATION]})
        if by is not None and not can_accept_residual(by, risk.residual_level):
            raise PermissionDeniedError(ACCEPT_NEEDS_RISK_OFFICER.format(level=risk.residual_level))
        risk.acceptance_justification = justification.strip()
        risk.accepted_by = by
        risk.accepted_at = timezone.now()
        after.update(
            justification=risk.acceptance_justification,
            residual_level=risk.residual_level,
            residual_score=risk.residual_score,
        )
    elif justification:
        after["justification"] = justification.strip()
    if risk.status == RiskStatus.ACCEPTED:
        # Leaving acceptance: the old acceptance no longer stands (the audit trail keeps it).
        risk.acceptance_justification, risk.accepted_by, risk.accepted_at = "", None, None
    if status == RiskStatus.CLOSED and risk.review_overdue:
        # A closed risk is no longer reviewed, so it is no longer overdue either.
        risk.review_overdue = False
        before["review_overdue"], after["review_overdue"] = True, False
    risk.status = status
    risk.save()
    audit.record(actor=by, action=f"risk.{status}", obj=risk, before=before, after=after)
    if status == RiskStatus.CLOSED:
        _resolve_findings(risk, "The risk was closed.")
    else:
        signoffs_revalidate(project=risk.project)  # e.g. a closed risk opened again
    return risk


@transaction.atomic
def risk_review(*, by, risk: Risk, note: str = "") -> Risk:
    """Record a review: the next review date moves on by the residual level's cadence; overdue clears."""
    risk = Risk.objects.select_for_update().select_related("project").get(pk=risk.pk)
    if by is not None and not can_edit_risks(by, risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    before = {"next_review_date": audit.json_value(risk.next_review_date), "review_overdue": risk.review_overdue}
    risk.last_reviewed_at = timezone.now()
    risk.next_review_date = risk_scoring.next_review(risk.residual_likelihood, risk.residual_impact, after=_today())
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
    mitigation.full_clean()
    mitigation.save()
    audit.record(
        actor=by,
        action="mitigation.created",
        obj=mitigation,
        after={"risk": risk.pk, **audit.snapshot(mitigation, MITIGATION_FIELDS)},
    )
    return mitigation


@transaction.atomic
def mitigation_update(*, by, mitigation: Mitigation, **fields) -> Mitigation:
    mitigation = Mitigation.objects.select_for_update().select_related("risk__project").get(pk=mitigation.pk)
    if by is not None and not can_edit_risks(by, mitigation.risk.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    before = audit.snapshot(mitigation, MITIGATION_FIELDS)
    for name, value in fields.items():
        if name not in MITIGATION_FIELDS:
            raise ValidationError({name: ["This field cannot be changed here."]})
        setattr(mitigation, name, value)
    mitigation.full_clean()
    old, new = audit.changes(before, audit.snapshot(mitigation, MITIGATION_FIELDS))
    if new:
        mitigation.save()
        audit.record(actor=by, action="mitigation.updated", obj=mitigation, before=old, after=new)
    return mitigation


# --- findings -----------------------------------------------------------------------------------

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


@transaction.atomic
def finding_assign(*, by, finding: Finding, assignee) -> Finding:
    if by is not None and not can_manage_findings(by):
        raise PermissionDeniedError(FINDINGS_RISK_OFFICERS_ONLY)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    before = {"assignee": finding.assignee_id}
    if before["assignee"] == (assignee.pk if assignee else None):
        return finding
    finding.assignee = assignee
    finding.save(update_fields=["assignee"])
    audit.record(
        actor=by, action="finding.assigned", obj=finding, before=before, after={"assignee": finding.assignee_id}
    )
    return finding


@transaction.atomic
def finding_resolve(*, by, finding: Finding, resolution: str) -> Finding:
    """Resolve by hand (e.g. a false positive); rules resolve their own findings when the cause goes."""
    if by is not None and not can_manage_findings(by):
        raise PermissionDeniedError(FINDINGS_RISK_OFFICERS_ONLY)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.resolved_at is not None:
        raise DomainError(FINDING_ALREADY_RESOLVED)
    if not resolution.strip():
        raise ValidationError({"resolution": ["Say how the finding was resolved."]})
    finding_close(finding, resolution.strip(), actor=by)
    return finding


# --- rules that change with the calendar --------------------------------------------------------

DATED_RULE_FLAGS = {"PROHIBITED_FROM_2026_12_02": tiering.NCII_CSAM_BAN_FROM}


def tier_assessments_apply_dated_rules(*, today: dt.date | None = None) -> int:
    """Re-assess, as Keel itself, every project whose current tier awaited a rule that now applies.

    An assessment made before a dated rule takes effect (e.g. the 2026/1744 ban on non-consensual
    intimate content, from 2 Dec 2026) carries a flag; once the date comes the same answers are
    assessed again, so the tier changes on the day, recorded as a new version and audited. Idempotent:
    the new assessment no longer carries the flag.
    """
    today = today or _today()
    due_flags = [flag for flag, since in DATED_RULE_FLAGS.items() if today >= since]
    if not due_flags:
        return 0
    latest = {}
    for assessment in RiskTierAssessment.objects.select_related("project").order_by("project_id", "-version"):
        latest.setdefault(assessment.project_id, assessment)
    reassessed = 0
    for assessment in latest.values():
        if any(flag in assessment.flags for flag in due_flags):
            _reassess(assessment, today=today)
            reassessed += 1
    return reassessed


def _reassess(assessment: RiskTierAssessment, *, today: dt.date) -> None:
    with transaction.atomic():
        project = AIProject.objects.select_for_update().get(pk=assessment.project_id)
        current = RiskTierAssessment.objects.filter(project=project).order_by("-version").first()
        if current.pk != assessment.pk:
            return  # someone re-assessed in the meantime
        result = tiering.assess(current.answers, on=today)
        new = RiskTierAssessment.objects.create(
            project=project,
            version=current.version + 1,
            answers=current.answers,
            answers_hash=current.answers_hash,
            tier=result.tier,
            route=result.route,
            flags=result.flags,
            explanation=result.explanation,
            assessed_by=None,
        )
        if project.risk_tier != result.tier:
            AIProject.objects.filter(pk=project.pk).update(risk_tier=result.tier)
        audit.record(
            actor=None,
            action="tier_assessment.reassessed",
            obj=new,
            before={"tier": current.tier, "version": current.version},
            after={"tier": new.tier, "version": new.version, "route": new.route, "reason": "a dated rule now applies"},
        )
        signoffs_revalidate(project=project)
        _evaluate_obligations_after_commit(project.pk)
