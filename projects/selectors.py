"""Reads for pages and the API, always scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from core.roles import Role, has_role, reads_everything, user_roles

from .models import (
    AIProject,
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    Stage,
    SyncRun,
    SyncStatus,
    Team,
)
from .permissions import user_team_ids


def projects_for_user(*, user) -> QuerySet[AIProject]:
    """Executives, risk officers and admins see all projects; team leads their teams'; others none."""
    qs = AIProject.objects.select_related("team", "owner", "executive_sponsor")
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(team_id__in=user_team_ids(user))
    return qs.none()


def teams_for_user(*, user) -> QuerySet[Team]:
    qs = Team.objects.select_related("lead").annotate(project_count=Count("projects"))
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(pk__in=user_team_ids(user))
    return qs.none()


def project_stage_counts(*, user) -> list[dict]:
    """One row per lifecycle stage, in lifecycle order, counted in the database."""
    counts = dict(
        projects_for_user(user=user).order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    return [{"stage": value, "label": label, "count": counts.get(value, 0)} for value, label in Stage.choices]


# --- registries ---------------------------------------------------------------------------------


def registries_with_health() -> QuerySet[Registry]:
    """Each registry with its last attempt, last success and latest run, computed in the database."""
    latest = SyncRun.objects.filter(registry=OuterRef("pk")).order_by("-started_at", "-id")
    return Registry.objects.annotate(
        last_attempt_at=Max("sync_runs__started_at"),
        last_success_at=Max("sync_runs__finished_at", filter=Q(sync_runs__status=SyncStatus.SUCCEEDED)),
        latest_status=Subquery(latest.values("status")[:1]),
        latest_error=Subquery(latest.values("error")[:1]),
        model_count=Count("models", filter=Q(models__deleted_at__isnull=True), distinct=True),
    ).order_by("name")


def registries_for_user(*, user) -> QuerySet[Registry]:
    """Everyone with a role may see the registries and their health (team leads link models from them)."""
    if not user_roles(user):
        return Registry.objects.none()
    return registries_with_health()


def registries_due(*, now) -> list[int]:
    """Enabled registries whose sync interval has passed since their last attempt (or never synced)."""
    due = []
    for registry_id, interval, last in (
        Registry.objects.filter(enabled=True)
        .annotate(last=Max("sync_runs__started_at"))
        .values_list("pk", "sync_interval_seconds", "last")
    ):
        if last is None or (now - last).total_seconds() >= interval:
            due.append(registry_id)
    return due


def registered_models_for_user(*, user) -> QuerySet[RegisteredModel]:
    """Readers of everything see every model; team leads see their teams' models and unlinked ones."""
    qs = RegisteredModel.objects.select_related("registry", "project")
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(Q(project__team_id__in=user_team_ids(user)) | Q(project__isnull=True))
    return qs.none()


def model_versions_for_user(*, user) -> QuerySet[ModelVersion]:
    qs = ModelVersion.objects.select_related("registered_model__registry", "registered_model__project")
    visible = registered_models_for_user(user=user).values("pk")
    return qs.filter(registered_model__in=visible)


def deployments_for_user(*, user, at=None) -> QuerySet[DeploymentObservation]:
    """What held each alias/stage/approval at `at` (default: now): intervals that contain that moment."""
    qs = DeploymentObservation.objects.select_related(
        "version", "registered_model__registry", "registered_model__project"
    ).filter(registered_model__in=registered_models_for_user(user=user).values("pk"))
    if at is None:
        return qs.filter(observed_until__isnull=True)
    return qs.filter(Q(observed_from__lte=at) & (Q(observed_until__isnull=True) | Q(observed_until__gt=at)))
