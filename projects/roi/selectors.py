"""Reads of the ROI ledger: entries in scope, monthly sums aggregated in the database, and the figures
of projects/roi/figures.py computed from them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from ..models import (
    AIProject,
    RoiBasis,
    ROIEntry,
    ROIEntryDeletion,
    RoiKind,
    ROIMonthRollup,
    Stage,
)
from ..permissions import scope_to_user, user_team_ids
from .figures import MonthTotals, RoiFigures, month_start, roi_figures


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
    query however many entries). Feed it to projects.roi.figures.roi_figures()."""
    rows = entries.order_by().values("month").annotate(**roi_month_sums()).order_by("month")
    return [_month_totals(r) for r in rows]


def roi_rollup_totals_by_project(rollups: QuerySet[ROIMonthRollup]) -> dict[int, list[MonthTotals]]:
    """Many projects' monthly totals at once, from the roll-up (already one row per project and month):
    project id → its months, in one query that reads months, not entries."""
    rows = rollups.order_by("project_id", "month").values(
        "project_id", "month", "planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n"
    )
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


def ledger_order(entries: QuerySet[ROIEntry], current_month) -> QuerySet[ROIEntry]:
    """The ledger as a team lead reads it: the current month first, then earlier months newest first,
    then planned months ahead, soonest first. Each entry carries `is_future` for the page's grouping."""
    current_month = month_start(current_month)
    return entries.annotate(
        is_future=Case(
            When(month__gt=current_month, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        # Past and current months sort by -month (future ones have none); then future ones by +month.
        sort_month=Case(
            When(month__gt=current_month, then=Value(None, output_field=DateField())),
            default=F("month"),
            output_field=DateField(),
        ),
    ).order_by("is_future", F("sort_month").desc(nulls_last=True), "month", "basis", "kind", "category", "pk")


RECENT_DELETIONS = 10


def roi_deletions_recent(*, project: AIProject) -> list[ROIEntryDeletion]:
    """The project's deletions not yet undone, newest first (at most RECENT_DELETIONS), for the Undo list."""
    return list(
        ROIEntryDeletion.objects.filter(project=project, restored_at=None)
        .select_related("deleted_by")
        .order_by("-deleted_at", "-pk")[:RECENT_DELETIONS]
    )
