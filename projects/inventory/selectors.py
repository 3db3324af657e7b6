"""Reads of projects and teams for pages and the API, always scoped to what the user may see."""

from __future__ import annotations

from django.db.models import (
    Count,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from core.queries import count_subquery

from ..models import (
    AIProject,
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Stage,
    SyncRun,
    SyncStatus,
    Team,
)
from ..permissions import scope_to_user


def projects_for_user(*, user) -> QuerySet[AIProject]:
    """Executives, risk officers and admins see all projects; team leads their teams'; others none."""
    return scope_to_user(AIProject.objects.select_related("team", "owner", "executive_sponsor"), user=user)


def teams_for_user(*, user) -> QuerySet[Team]:
    return scope_to_user(
        Team.objects.select_related("lead").annotate(project_count=Count("projects")), user=user, team_id="pk"
    )


def project_stage_counts(*, user) -> list[dict]:
    """One row per lifecycle stage, in lifecycle order, counted in the database."""
    counts = dict(
        projects_for_user(user=user).order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    return [{"stage": value, "label": label, "count": counts.get(value, 0)} for value, label in Stage.choices]


def project_models(*, project: AIProject, versions_shown: int = 25, history_shown: int = 50) -> list[RegisteredModel]:
    """The models linked to a project, for its page, in a fixed number of queries however many versions.

    Each model carries `shown_versions` (newest first, at most `versions_shown`, deleted ones included),
    `live_version_total` (the versions still in the registry), `holding_now` (the
    open intervals: which version holds each alias/stage/approval now), `history` (the newest
    `history_shown` intervals), the counts of all of them (so the page can say how many it left out),
    and its registry's last success and latest sync status (so the page can say how old it all is).
    """
    versions = ModelVersion.objects.order_by("-version_number", "-registry_created_at", "-id")
    live_versions = ModelVersion.objects.filter(registered_model=OuterRef("pk"), deleted_at__isnull=True)
    intervals = DeploymentObservation.objects.select_related("version")
    runs = SyncRun.objects.filter(registry=OuterRef("registry_id")).order_by("-started_at", "-id")
    successes = runs.filter(status=SyncStatus.SUCCEEDED).order_by("-finished_at", "-id")
    models = list(
        project.registered_models.select_related("registry")
        .annotate(
            # How current the registry's data is, so the page can say how old what it shows is.
            registry_last_success_at=Subquery(successes.values("finished_at")[:1]),
            registry_latest_status=Subquery(runs.values("status")[:1]),
            version_total=Coalesce(
                Subquery(count_subquery(ModelVersion.objects.filter(registered_model=OuterRef("pk")))), 0
            ),
            # "N versions" counts what the registry still holds; deleted ones are listed, marked, not counted.
            live_version_total=Coalesce(Subquery(count_subquery(live_versions)), 0),
            history_total=Coalesce(
                Subquery(count_subquery(DeploymentObservation.objects.filter(registered_model=OuterRef("pk")))), 0
            ),
        )
        .prefetch_related(
            Prefetch("versions", queryset=versions[:versions_shown], to_attr="shown_versions"),
            # Each shown version's metrics (registries/metrics.py), in one more query.
            "shown_versions__metric_values",
            Prefetch(
                "deployments",
                queryset=intervals.filter(observed_until__isnull=True).order_by(
                    "signal", "name", "-version__version_number"
                ),
                to_attr="holding_now",
            ),
            Prefetch(
                "deployments",
                queryset=intervals.order_by("-observed_from", "-id")[:history_shown],
                to_attr="history",
            ),
        )
        .order_by("registry__name", "name")
    )
    for model in models:
        model.deleted_version_total = model.version_total - model.live_version_total
        by_version: dict[int, list[DeploymentObservation]] = {}
        for row in model.holding_now:
            by_version.setdefault(row.version_id, []).append(row)
        for version in model.shown_versions:
            version.holding_now = by_version.get(version.pk, [])
    return models
