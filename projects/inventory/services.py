"""The only code that writes teams and projects. Each function is one transaction with its audit event."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from core import audit
from core.errors import DomainError, PermissionDeniedError, TransitionError
from core.services import model_create, model_delete, model_update

from ..models import INITIAL_STAGES, STAGE_TRANSITIONS, AIProject, RiskTier, Stage, Team
from ..permissions import can_change_project, can_create_project_in, can_manage_teams
from ..rollups import roi_group_rollup_move

PROJECT_FIELDS = (
    "name", "slug", "purpose", "team", "owner", "executive_sponsor", "stage", "health",
    "currency", "expected_investment", "expected_annual_value", "start_month", "horizon_months",
)  # fmt: skip
PROJECT_EDITABLE = (
    "name", "purpose", "team", "owner", "executive_sponsor", "health",
    "currency", "expected_investment", "expected_annual_value", "start_month", "horizon_months",
)  # fmt: skip
TEAM_FIELDS = ("name", "slug", "description", "lead", "members")

NOT_YOUR_TEAM = "You can only create or change projects of a team you lead or belong to."
TEAMS_ADMIN_ONLY = "Only admins can create or change teams."
ILLEGAL_INITIAL_STAGE = "A new project starts at idea, design or development; later stages are reached by transitions."
ILLEGAL_TRANSITION = "A project cannot move from {current} to {target}. Allowed next stages: {allowed}."
SAME_STAGE = "The project is already at {stage}."
SLUG_TAKEN = "Another project already uses the slug {slug!r}; choose another name or slug."
DELETE_ONLY_IDEAS = (
    "Only a project still at the idea stage can be deleted; this one is at {stage}. Retire it instead,"
    " so that its history stays attached."
)
TEAM_NOT_EMPTY = "The team still owns {count} project(s); move or delete them first."
RESERVED_SLUGS = frozenset({"new", "registries"})  # would collide with /projects/new/, /projects/registries/


def _unique_slug(base: str, *, model, exclude_pk=None) -> str:
    slug = (slugify(base) or "project")[:100]
    candidate, n = slug, 2
    qs = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while candidate in RESERVED_SLUGS or qs.filter(slug=candidate).exists():
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


@transaction.atomic
def team_create(*, by, name: str, slug: str = "", description: str = "", lead=None, members=()) -> Team:
    if by is not None and not can_manage_teams(by):
        raise PermissionDeniedError(TEAMS_ADMIN_ONLY)
    team = Team(name=name, slug=slug or _unique_slug(name, model=Team), description=description, lead=lead)
    team.full_clean()
    team.save()
    team.members.set(members)
    audit.record(actor=by, action="team.created", obj=team, after=audit.snapshot(team, TEAM_FIELDS))
    return team


@transaction.atomic
def team_update(*, by, team: Team, **fields) -> Team:
    """Change a team's fields and members. Nothing is written (no save, no audit event) when nothing
    changed, so a `PATCH {}` leaves the row and its updated_at as they were."""
    if by is not None and not can_manage_teams(by):
        raise PermissionDeniedError(TEAMS_ADMIN_ONLY)
    team = Team.objects.select_for_update().get(pk=team.pk)
    team, _ = model_update(instance=team, fields=TEAM_FIELDS, data=fields, by=by, action="team.updated")
    return team


@transaction.atomic
def project_create(
    *,
    by,
    name: str,
    purpose: str,
    team: Team,
    owner,
    slug: str = "",
    executive_sponsor=None,
    stage: str = Stage.IDEA,
    health: str = AIProject._meta.get_field("health").default,
    currency: str = "EUR",
    expected_investment: Decimal = Decimal("0"),
    expected_annual_value: Decimal = Decimal("0"),
    horizon_months: int = 36,
    start_month=None,
) -> AIProject:
    """Register a project. `by=None` is the system itself (seeding, migrations), which skips the role check."""
    if by is not None and not can_create_project_in(by, team):
        raise PermissionDeniedError(NOT_YOUR_TEAM, field="team")
    if stage not in INITIAL_STAGES:
        raise ValidationError({"stage": [ILLEGAL_INITIAL_STAGE]})
    if slug and (slug in RESERVED_SLUGS or AIProject.objects.filter(slug=slug).exists()):
        raise ValidationError({"slug": [SLUG_TAKEN.format(slug=slug)]})
    project = AIProject(
        name=name,
        slug=slug or _unique_slug(name, model=AIProject),
        purpose=purpose,
        team=team,
        owner=owner,
        executive_sponsor=executive_sponsor,
        stage=stage,
        health=health,
        currency=currency,
        expected_investment=expected_investment,
        expected_annual_value=expected_annual_value,
        horizon_months=horizon_months,
        start_month=start_month,
    )
    return model_create(instance=project, by=by, action="project.created", fields=PROJECT_FIELDS)


@transaction.atomic
def project_update(*, by, project: AIProject, **fields) -> AIProject:
    """Change the editable fields; the stage only moves through project_change_stage."""
    project = AIProject.objects.select_for_update().get(pk=project.pk)
    if by is not None and not can_change_project(by, project):
        raise PermissionDeniedError(NOT_YOUR_TEAM)
    # Moving a project to another team needs the right to create projects in that team.
    if "team" in fields and by is not None and not can_create_project_in(by, fields["team"]):
        raise PermissionDeniedError(NOT_YOUR_TEAM, field="team")
    before = project.team_id
    project, _ = model_update(instance=project, fields=PROJECT_EDITABLE, data=fields, by=by, action="project.updated")
    if project.team_id != before:
        roi_group_rollup_move(project_id=project.pk, before=(before, project.stage, project.risk_tier),
                              after=(project.team_id, project.stage, project.risk_tier))  # fmt: skip
    return project


PROHIBITED_TO_PRODUCTION = (
    "This project's EU AI Act tier is prohibited (Art. 5), so it cannot move to production; change the system "
    "or its tier assessment first."
)


@transaction.atomic
def project_change_stage(*, by, project: AIProject, stage: str, reason: str = "") -> AIProject:
    """Move a project along its lifecycle; the row is locked so two movers cannot both succeed."""
    project = AIProject.objects.select_for_update().get(pk=project.pk)
    if by is not None and not can_change_project(by, project):
        raise PermissionDeniedError(NOT_YOUR_TEAM)
    if stage not in Stage.values:
        raise ValidationError({"stage": [f"Unknown stage {stage!r}. Stages: {', '.join(Stage.values)}."]})
    if stage == project.stage:
        raise TransitionError(SAME_STAGE.format(stage=project.stage), field="stage")
    if stage not in STAGE_TRANSITIONS[project.stage]:
        allowed = ", ".join(project.allowed_next_stages()) or "none"
        raise TransitionError(
            ILLEGAL_TRANSITION.format(current=project.stage, target=stage, allowed=allowed), field="stage"
        )
    if stage == Stage.PRODUCTION and project.risk_tier == RiskTier.PROHIBITED:
        # The EU AI Act forbids placing such a system on the market; the deployment gate denies it too.
        raise TransitionError(PROHIBITED_TO_PRODUCTION, field="stage")
    previous = project.stage
    project.stage = stage
    project.stage_changed_at = timezone.now()
    project.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    roi_group_rollup_move(project_id=project.pk, before=(project.team_id, previous, project.risk_tier),
                          after=(project.team_id, stage, project.risk_tier))  # fmt: skip
    after = {"stage": stage}
    if reason:
        after["reason"] = reason
    audit.record(actor=by, action="project.stage_changed", obj=project, before={"stage": previous}, after=after)
    return project


@transaction.atomic
def project_delete(*, by, project: AIProject) -> None:
    """Delete a project registered by mistake. Only ideas: anything further along is retired instead."""
    project = AIProject.objects.select_for_update().get(pk=project.pk)
    if by is not None and not can_change_project(by, project):
        raise PermissionDeniedError(NOT_YOUR_TEAM)
    if project.stage != Stage.IDEA:
        raise TransitionError(DELETE_ONLY_IDEAS.format(stage=project.stage), field="stage")
    pk, group = project.pk, (project.team_id, project.stage, project.risk_tier)
    model_delete(instance=project, fields=PROJECT_FIELDS, by=by, action="project.deleted")
    roi_group_rollup_move(project_id=pk, before=group, after=None)


@transaction.atomic
def team_delete(*, by, team: Team) -> None:
    if by is not None and not can_manage_teams(by):
        raise PermissionDeniedError(TEAMS_ADMIN_ONLY)
    team = Team.objects.select_for_update().get(pk=team.pk)
    count = team.projects.count()
    if count:
        raise DomainError(TEAM_NOT_EMPTY.format(count=count))
    model_delete(instance=team, fields=TEAM_FIELDS, by=by, action="team.deleted")


@transaction.atomic
def team_leads_sync(*, user, led: set[str], managed: set[str]) -> None:
    """Make `user` the lead of exactly the teams in `led` among the `managed` ones (slugs): what the
    sign-in provider says (projects.inventory.oidc). A team in `led` passes from its previous lead to
    `user`; a managed team `user` leads but is no longer given loses its lead. Teams outside `managed` are
    left alone. Each change is a team_update by the system, audited there."""
    for team in Team.objects.select_for_update().filter(slug__in=managed).order_by("pk"):
        if team.slug in led and team.lead_id != user.pk:
            team_update(by=None, team=team, lead=user)
        elif team.slug not in led and team.lead_id == user.pk:
            team_update(by=None, team=team, lead=None)
