"""The only code that writes risk-tier assessments: a person's questionnaire, and the re-assessment
Keel makes itself when a dated rule of the AI Act takes effect.

Each assessment is one transaction that writes a new version, moves the project's tier and appends its
audit event.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import audit
from core.errors import PermissionDeniedError
from core.queue import enqueue_on_commit
from projects.models import AIProject
from projects.rollups import roi_group_rollup_move

from ..models import RiskTierAssessment
from . import events, tiering
from .permissions import can_assess_tier
from .services import NOT_YOUR_PROJECT


def _today() -> dt.date:
    return timezone.localdate()


@transaction.atomic
def tier_assessment_submit(*, by, project: AIProject, answers: dict) -> RiskTierAssessment:
    """Assess the project's tier from the questionnaire; a new version each time, the history kept.

    Only complete answers are assessed (ValidationError keyed by question id otherwise); the answers
    stored are those to the questions asked, nothing filled in."""
    if by is not None and not can_assess_tier(by, project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    try:
        # Refuses every relevant question left unanswered: an incomplete questionnaire is never saved
        # as a tier, so the project stays "not assessed" (risk_tier "") until it is complete.
        result = tiering.assess(answers, on=_today())
    except tiering.AnswerError as exc:
        raise ValidationError({k: [v] for k, v in exc.errors.items()}) from exc
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
        _set_tier(project, result.tier)
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
    events.project_risks_changed.send(sender=None, project=project)
    _evaluate_obligations_after_commit(project.pk)
    return assessment


def _set_tier(project: AIProject, tier: str) -> None:
    """The project's tier, and its ROI months moved to its new (team, stage, tier) group of the dashboard's
    roll-up (projects/roi/rollup.py), in the caller's transaction with the project's row locked."""
    AIProject.objects.filter(pk=project.pk).update(risk_tier=tier)
    roi_group_rollup_move(project_id=project.pk, before=(project.team_id, project.stage, project.risk_tier),
                          after=(project.team_id, project.stage, tier))  # fmt: skip


def _evaluate_obligations_after_commit(project_id: int) -> None:
    """The tier decides which compliance obligations apply: a worker re-derives them once this commits
    (their findings and audit events are that task's, not the assessment's)."""
    enqueue_on_commit("governance.tasks.evaluate_project_obligations", project_id)


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
            _set_tier(project, result.tier)
        audit.record(
            actor=None,
            action="tier_assessment.reassessed",
            obj=new,
            before={"tier": current.tier, "version": current.version},
            after={"tier": new.tier, "version": new.version, "route": new.route, "reason": "a dated rule now applies"},
        )
        events.project_risks_changed.send(sender=None, project=project)
        _evaluate_obligations_after_commit(project.pk)
