"""Reads for pages and the API, always scoped to what the user may see."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from core.roles import Role, has_role, reads_everything, user_roles

from .models import (
    AIProject,
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    RoiBasis,
    ROIEntry,
    RoiKind,
    Stage,
    SyncRun,
    SyncStatus,
    Team,
)
from .permissions import scope_to_user, user_team_ids
from .roi import MonthTotals, RoiFigures, month_start, roi_figures


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


# --- registries ---------------------------------------------------------------------------------


def registries_with_health() -> QuerySet[Registry]:
    """Each registry with its last attempt, last success, latest run and live counts, one query in all.

    Correlated subqueries rather than joins: a join of sync runs with models would multiply the
    rows of a registry with a long history by its model count.
    """
    runs = SyncRun.objects.filter(registry=OuterRef("pk")).order_by("-started_at", "-id")
    successes = runs.filter(status=SyncStatus.SUCCEEDED).order_by("-finished_at", "-id")
    live_models = _count_of(RegisteredModel.objects.filter(registry=OuterRef("pk"), deleted_at__isnull=True))
    live_versions = _count_of(
        ModelVersion.objects.filter(registered_model__registry=OuterRef("pk"), deleted_at__isnull=True)
    )
    return Registry.objects.annotate(
        last_attempt_at=Subquery(runs.values("started_at")[:1]),
        last_success_at=Subquery(successes.values("finished_at")[:1]),
        latest_status=Subquery(runs.values("status")[:1]),
        latest_error=Subquery(runs.values("error")[:1]),
        model_count=Coalesce(Subquery(live_models), 0),
        version_count=Coalesce(Subquery(live_versions), 0),
    ).order_by("name")


def _count_of(qs: QuerySet) -> QuerySet:
    """A one-value subquery counting `qs` (which must be filtered on an OuterRef)."""
    return qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")


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


def project_models(*, project: AIProject, versions_shown: int = 25, history_shown: int = 50) -> list[RegisteredModel]:
    """The models linked to a project, for its page, in a fixed number of queries however many versions.

    Each model carries `shown_versions` (newest first, at most `versions_shown`), `holding_now` (the
    open intervals: which version holds each alias/stage/approval now), `history` (the newest
    `history_shown` intervals), the counts of all of them (so the page can say how many it left out),
    and its registry's last success and latest sync status (so the page can say how old it all is).
    """
    versions = ModelVersion.objects.order_by("-version_number", "-registry_created_at", "-id")
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
                Subquery(_count_of(ModelVersion.objects.filter(registered_model=OuterRef("pk")))), 0
            ),
            history_total=Coalesce(
                Subquery(_count_of(DeploymentObservation.objects.filter(registered_model=OuterRef("pk")))), 0
            ),
        )
        .prefetch_related(
            Prefetch("versions", queryset=versions[:versions_shown], to_attr="shown_versions"),
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
        by_version: dict[int, list[DeploymentObservation]] = {}
        for row in model.holding_now:
            by_version.setdefault(row.version_id, []).append(row)
        for version in model.shown_versions:
            version.holding_now = by_version.get(version.pk, [])
    return models


# --- ROI ledger ---------------------------------------------------------------------------------


def roi_entries_for_user(*, user) -> QuerySet[ROIEntry]:
    """Executives, risk officers and admins read every project's ledger; team leads their teams'."""
    return scope_to_user(ROIEntry.objects.select_related("project", "logged_by"), user=user, team_id="project__team_id")


def _money_sum(**condition) -> Coalesce:
    return Coalesce(
        Sum("amount_reporting", filter=Q(**condition)),
        Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2)),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


def roi_month_sums() -> dict:
    """A month's planned and actual value and cost, and how many actuals (annotations over entries)."""
    return {
        "planned_value": _money_sum(basis=RoiBasis.PLANNED, kind=RoiKind.VALUE),
        "planned_cost": _money_sum(basis=RoiBasis.PLANNED, kind=RoiKind.COST),
        "actual_value": _money_sum(basis=RoiBasis.ACTUAL, kind=RoiKind.VALUE),
        "actual_cost": _money_sum(basis=RoiBasis.ACTUAL, kind=RoiKind.COST),
        "actual_n": Count("id", filter=Q(basis=RoiBasis.ACTUAL)),
    }


def _month_totals(row: dict) -> MonthTotals:
    return MonthTotals(
        month=row["month"],
        planned_value=row["planned_value"],
        planned_cost=row["planned_cost"],
        actual_value=row["actual_value"],
        actual_cost=row["actual_cost"],
        actual_logged=row["actual_n"] > 0,
    )


def roi_monthly_totals(entries: QuerySet[ROIEntry]) -> list[MonthTotals]:
    """One MonthTotals per month of `entries`, in the reporting currency, summed in the database (one
    query however many entries). Feed it to projects.roi.roi_figures()."""
    rows = entries.order_by().values("month").annotate(**roi_month_sums()).order_by("month")
    return [_month_totals(r) for r in rows]


def roi_monthly_totals_by_project(entries: QuerySet[ROIEntry]) -> dict[int, list[MonthTotals]]:
    """roi_monthly_totals() for many projects at once: project id → its months (one query)."""
    rows = entries.order_by().values("project_id", "month").annotate(**roi_month_sums()).order_by("project_id", "month")
    out: dict[int, list[MonthTotals]] = {}
    for r in rows.iterator(chunk_size=2000):
        out.setdefault(r["project_id"], []).append(_month_totals(r))
    return out


def roi_figures_for(series: list[MonthTotals], *, as_of=None) -> RoiFigures:
    """roi_figures() with the organisation's discount rate and value-decay settings."""
    return roi_figures(
        series,
        discount_rate=settings.KEEL_ROI_DISCOUNT_RATE,
        decay_share=settings.KEEL_VALUE_DECAY_SHARE,
        decay_months=settings.KEEL_VALUE_DECAY_MONTHS,
        as_of=as_of,
    )


def roi_project_figures(*, project: AIProject, as_of=None) -> RoiFigures:
    """One project's derived ROI figures (one query)."""
    return roi_figures_for(roi_monthly_totals(ROIEntry.objects.filter(project=project)), as_of=as_of)


def roi_month_status_for_user(*, user, month) -> QuerySet[AIProject]:
    """The user's team projects with their ROI for one month, in one query, for the team lead's home.

    Each project carries roi_actual_count / roi_actual_value / roi_actual_cost / roi_planned_value /
    roi_planned_cost for `month` (reporting currency) and roi_status: "logged" (an actual exists),
    "due" (something is planned but no actual is logged yet) or "not_planned". Retired projects are left out.
    """
    month = month_start(month)
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))
    in_month = Q(roi_entries__month=month)

    def total(basis, kind):
        return Coalesce(
            Sum("roi_entries__amount_reporting", filter=in_month & Q(roi_entries__basis=basis, roi_entries__kind=kind)),
            zero,
            output_field=DecimalField(max_digits=18, decimal_places=2),
        )

    return (
        AIProject.objects.filter(team_id__in=user_team_ids(user))
        .exclude(stage=Stage.RETIRED)
        .select_related("team")
        .annotate(
            roi_actual_count=Count("roi_entries", filter=in_month & Q(roi_entries__basis=RoiBasis.ACTUAL)),
            roi_planned_count=Count("roi_entries", filter=in_month & Q(roi_entries__basis=RoiBasis.PLANNED)),
            roi_actual_value=total(RoiBasis.ACTUAL, RoiKind.VALUE),
            roi_actual_cost=total(RoiBasis.ACTUAL, RoiKind.COST),
            roi_planned_value=total(RoiBasis.PLANNED, RoiKind.VALUE),
            roi_planned_cost=total(RoiBasis.PLANNED, RoiKind.COST),
        )
        .annotate(
            roi_status=Case(
                When(roi_actual_count__gt=0, then=Value("logged")),
                When(roi_planned_count__gt=0, then=Value("due")),
                default=Value("not_planned"),
                output_field=CharField(),
            )
        )
        .order_by("name", "id")
    )
