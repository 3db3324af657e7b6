"""Reads of registry connections, their models, versions and deployments, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from core.queries import count_subquery
from core.roles import Role, has_role, reads_everything, user_roles

from ..models import (
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    SyncRun,
    SyncStatus,
)
from ..permissions import user_team_ids


def registries_with_health() -> QuerySet[Registry]:
    """Each registry with its last attempt, last success, latest run and live counts, one query in all.

    Correlated subqueries rather than joins: a join of sync runs with models would multiply the
    rows of a registry with a long history by its model count.
    """
    runs = SyncRun.objects.filter(registry=OuterRef("pk")).order_by("-started_at", "-id")
    successes = runs.filter(status=SyncStatus.SUCCEEDED).order_by("-finished_at", "-id")
    live_models = count_subquery(RegisteredModel.objects.filter(registry=OuterRef("pk"), deleted_at__isnull=True))
    live_versions = count_subquery(
        ModelVersion.objects.filter(registered_model__registry=OuterRef("pk"), deleted_at__isnull=True)
    )
    return Registry.objects.annotate(
        last_attempt_at=Subquery(runs.values("started_at")[:1]),
        last_success_at=Subquery(successes.values("finished_at")[:1]),
        latest_status=Subquery(runs.values("status")[:1]),
        latest_run_id=Subquery(runs.values("pk")[:1]),
        latest_error=Subquery(runs.values("error")[:1]),
        model_count=Coalesce(Subquery(live_models), 0),
        version_count=Coalesce(Subquery(live_versions), 0),
    ).order_by("name")


def registry_data_age(registry: Registry, *, now) -> int | None:
    """Seconds since the registry's last successful sync (None if it never succeeded)."""
    last = getattr(registry, "last_success_at", None)
    return None if last is None else max(0, int((now - last).total_seconds()))


def registry_is_stale(registry: Registry, *, now) -> bool:
    """Never synced, or older than two sync intervals: what the dashboard says may be out of date."""
    age = registry_data_age(registry, now=now)
    return age is None or age > 2 * registry.sync_interval_seconds


def registries_for_user(*, user) -> QuerySet[Registry]:
    """Everyone with a role may see the registries and their health (team leads link models from them)."""
    if not user_roles(user):
        return Registry.objects.none()
    return registries_with_health()


def registries_due(*, now) -> list[tuple[int, dt.datetime | None]]:
    """Enabled registries whose sync interval has passed since their last attempt (or never synced).

    Each with the start of that last attempt as seen now (None: never): the sync it asks for is
    skipped if another sync of the registry started after it (a doubled beat tick, projects/tasks.py).
    """
    due = []
    for registry_id, interval, last in (
        Registry.objects.filter(enabled=True)
        .annotate(last=Max("sync_runs__started_at"))
        .order_by("pk")  # the aggregate's GROUP BY leaves the order to the database: make it the same everywhere
        .values_list("pk", "sync_interval_seconds", "last")
    ):
        if last is None or (now - last).total_seconds() >= interval:
            due.append((registry_id, last))
    return due


def _model_scope(user, via: str = "") -> Q:
    """Which registered models a user may see, as a condition on `<via>` (a path to RegisteredModel).

    Readers of everything see every model; team leads their teams' models and the unlinked ones
    (which they may link to their projects); anyone else none.
    """
    if reads_everything(user):
        return Q()
    if has_role(user, Role.TEAM_LEAD):
        return Q(**{f"{via}project__team_id__in": user_team_ids(user)}) | Q(**{f"{via}project__isnull": True})
    return Q(pk__in=[])


def registered_models_for_user(*, user) -> QuerySet[RegisteredModel]:
    return RegisteredModel.objects.select_related("registry", "project").filter(_model_scope(user))


def linkable_models_for_user(*, user) -> QuerySet[RegisteredModel]:
    """Models a user may link by hand: visible, not linked to a project, still in the registry."""
    return (
        registered_models_for_user(user=user)
        .filter(project__isnull=True, deleted_at__isnull=True)
        .order_by("registry__name", "name")
    )


def model_versions_for_user(*, user) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("registered_model__registry", "registered_model__project").filter(
        _model_scope(user, via="registered_model__")
    )


def held_at(at) -> Q:
    """Deployment intervals that contain the moment `at` (from inclusive, until exclusive)."""
    return Q(observed_from__lte=at) & (Q(observed_until__isnull=True) | Q(observed_until__gt=at))


def deployment_intervals_for_user(*, user) -> QuerySet[DeploymentObservation]:
    """Every interval (past and open) of the models the user may see, grouped by model and signal."""
    return (
        DeploymentObservation.objects.select_related(
            "version", "registered_model__registry", "registered_model__project"
        )
        .filter(_model_scope(user, via="registered_model__"))
        .order_by("registered_model__registry__name", "registered_model__name", "signal", "name", "id")
    )


def deployments_for_user(*, user, at=None) -> QuerySet[DeploymentObservation]:
    """What held each alias/stage/approval at `at` (default: now, i.e. the open intervals)."""
    qs = deployment_intervals_for_user(user=user)
    if at is None:
        return qs.filter(observed_until__isnull=True)
    return qs.filter(held_at(at))


def registry_recent_syncs(*, registry: Registry, limit: int = 5) -> list[SyncRun]:
    """The registry's latest sync attempts, newest first, for its page."""
    return list(registry.sync_runs.order_by("-started_at", "-id")[:limit])


def registry_models_for_user(*, user, registry: Registry) -> QuerySet[RegisteredModel]:
    """The registry's models the user may see (linked or not), with their live and deleted version counts.

    Versions are attached per page by registry_models_with_versions(), so a page of 25 models costs the
    same few queries whatever the number of versions.
    """
    live = ModelVersion.objects.filter(registered_model=OuterRef("pk"), deleted_at__isnull=True)
    deleted = ModelVersion.objects.filter(registered_model=OuterRef("pk"), deleted_at__isnull=False)
    return (
        registered_models_for_user(user=user)
        .filter(registry=registry)
        .select_related("project__team")
        .annotate(
            live_version_count=Coalesce(Subquery(count_subquery(live)), 0),
            deleted_version_count=Coalesce(Subquery(count_subquery(deleted)), 0),
        )
        .order_by("name", "pk")
    )


def _versions_newest_first() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-version_number", "-registry_created_at", "-id")


def _attach_signals(models, versions_attr: str) -> None:
    """Give each version `holding_now`: the alias/stage/approval intervals open now (from `model.holding_now`)."""
    for model in models:
        by_version: dict[int, list[DeploymentObservation]] = {}
        for row in model.holding_now:
            by_version.setdefault(row.version_id, []).append(row)
        for version in getattr(model, versions_attr):
            version.holding_now = by_version.get(version.pk, [])


def registry_models_with_versions(models, *, versions_shown: int | None = 20) -> list[RegisteredModel]:
    """One page of registry_models_for_user() with `shown_versions` (newest first, at most `versions_shown`;
    None: all, for exports) and each version's open signals, in three queries however many versions."""
    versions = _versions_newest_first()
    if versions_shown is not None:
        versions = versions[:versions_shown]
    open_signals = DeploymentObservation.objects.filter(observed_until__isnull=True).order_by("signal", "name", "id")
    page = list(
        models.prefetch_related(
            Prefetch("versions", queryset=versions, to_attr="shown_versions"),
            Prefetch("deployments", queryset=open_signals, to_attr="holding_now"),
        )
    )
    _attach_signals(page, "shown_versions")
    return page
