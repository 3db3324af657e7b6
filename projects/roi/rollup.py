"""The ROI roll-up: one row per (project, month) with the ledger's planned and actual value and cost in the
reporting currency (projects.models.ROIMonthRollup), so that the portfolio dashboard and its summary API
read a few rows per project instead of every entry.

One rule keeps it right: every write to the ledger names the (project, month) cells it touched and calls
roi_rollup_refresh() in the same transaction, which recomputes exactly those cells from the ledger
(delete, then insert the ledger's sums). Recomputing rather than adding deltas means a cell can never
drift, whatever the write was (create, edit that moves an entry to another month, delete, restore,
import, FX re-conversion). rebuild_roi_rollup (a management command) recomputes every cell, for data
written outside the services (seed_portfolio, a restore from backup).

Two coarser roll-ups sum those rows once more, per (team, stage, tier) group and month and per team and
month, for the dashboard (projects/rollups.py); roi_rollup_refresh recomputes their touched cells too, in
the same transaction.

The roll-up is derived data and not audited: every change to it is the consequence of a ledger change
that is audited in the same transaction, and a rebuild changes no figure the ledger does not already say.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from ..models import AIProject, RoiBasis, ROIEntry, ROIGroupMonthRollup, RoiKind, ROIMonthRollup, ROITeamMonthRollup
from ..rollups import (
    BATCH,
    GROUP_COLUMNS,
    TEAM_COLUMNS,
    group_sums,
    insert_select,
    roi_group_rollup_drift,
    roi_group_rollup_refresh,
    team_sums,
)
from .figures import month_start

__all__ = [
    "cell_sums",
    "ledger_cells",
    "ledger_sums",
    "roi_group_rollup_drift",
    "roi_group_rollup_refresh",
    "roi_rollup_drift",
    "roi_rollup_rebuild",
    "roi_rollup_refresh",
    "roi_rollup_refresh_projects",
]

_MONEY = DecimalField(max_digits=18, decimal_places=2)


def _money_sum(basis: str, kind: str) -> Coalesce:
    return Coalesce(
        Sum("amount_reporting", filter=Q(basis=basis, kind=kind)),
        Value(Decimal("0"), output_field=_MONEY),
        output_field=_MONEY,
    )


def cell_sums() -> dict:
    """The roll-up's columns as annotations over ledger rows grouped by (project, month). Also used by the
    migration that fills the table, with the historical models: field names only."""
    return {
        "planned_value": _money_sum(RoiBasis.PLANNED, RoiKind.VALUE),
        "planned_cost": _money_sum(RoiBasis.PLANNED, RoiKind.COST),
        "actual_value": _money_sum(RoiBasis.ACTUAL, RoiKind.VALUE),
        "actual_cost": _money_sum(RoiBasis.ACTUAL, RoiKind.COST),
        "actual_n": Count("id", filter=Q(basis=RoiBasis.ACTUAL)),
    }


def ledger_cells(entries) -> Iterable[dict]:
    """The ledger's sums per (project, month) over `entries` (a queryset of ROI entries), streamed."""
    rows = entries.order_by().values("project_id", "month").annotate(**cell_sums()).order_by("project_id", "month")
    return rows.iterator(chunk_size=BATCH)


# Each roll-up field and its alias in ledger_sums() (every column of an INSERT … SELECT source is named).
LEDGER_COLUMNS = {"project": "cell_project", "month": "cell_month", **{name: name for name in cell_sums()}}


def ledger_sums(entries) -> QuerySet:
    """ledger_cells() as a queryset aliased as LEDGER_COLUMNS says, for insert_select: computed and written
    by the database alone."""
    return entries.order_by().values(cell_project=F("project_id"), cell_month=F("month")).annotate(**cell_sums())


def _refill(entries) -> int:
    return insert_select(ROIMonthRollup, ledger_sums(entries), LEDGER_COLUMNS)


def _cells_q(cells: set[tuple[int, dt.date]]) -> Q:
    """The cells as one condition: per month, the projects touched in it (writes touch few months)."""
    by_month: dict[dt.date, set[int]] = defaultdict(set)
    for project_id, month in cells:
        by_month[month].add(project_id)
    where = Q()
    for month, project_ids in sorted(by_month.items()):
        where |= Q(month=month, project_id__in=sorted(project_ids))
    return where


def roi_rollup_refresh(*, cells: Iterable[tuple[int, dt.date]]) -> None:
    """Recompute the roll-up of the (project id, month) cells from the ledger. Must run in the transaction
    that changed those cells' entries (it refuses to run outside one), after the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("roi_rollup_refresh must run inside the transaction that wrote the ledger")
    wanted = {(project_id, month_start(month)) for project_id, month in cells}
    if not wanted:
        return
    # The projects' rows are the ledger's write lock (every ROI service takes it, in pk order): holding
    # it, no other transaction can change these cells between the sums below and their insert.
    groups = set(
        AIProject.objects.select_for_update()
        .filter(pk__in=sorted({p for p, _ in wanted}))
        .order_by("pk")
        .values_list("team_id", "stage", "risk_tier")
    )
    where = _cells_q(wanted)
    ROIMonthRollup.objects.filter(where).delete()
    _refill(ROIEntry.objects.filter(where))
    roi_group_rollup_refresh(groups=groups, months={month for _, month in wanted})


@transaction.atomic
def roi_rollup_refresh_projects(*, projects: QuerySet[AIProject]) -> int:
    """Recompute every month of these projects (after a bulk load of their ledger, as seed_portfolio does);
    returns the rows written. A queryset, not a list of ids, so that thousands of projects are a subquery."""
    ids = projects.order_by().values("pk")
    groups = set(
        AIProject.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("team_id", "stage", "risk_tier")
    )
    ROIMonthRollup.objects.filter(project_id__in=ids).delete()
    written = _refill(ROIEntry.objects.filter(project_id__in=ids))
    roi_group_rollup_refresh(groups=groups)
    return written


@transaction.atomic
def roi_rollup_rebuild() -> int:
    """Recompute the whole roll-up from the ledger; returns the rows written. The table is locked against
    concurrent ledger writes by the projects' rows, as for a refresh."""
    list(AIProject.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
    ROIMonthRollup.objects.all().delete()
    written = _refill(ROIEntry.objects.all())
    ROIGroupMonthRollup.objects.all().delete()
    insert_select(ROIGroupMonthRollup, group_sums(ROIMonthRollup.objects.all()), GROUP_COLUMNS)
    ROITeamMonthRollup.objects.all().delete()
    insert_select(ROITeamMonthRollup, team_sums(ROIGroupMonthRollup.objects.all()), TEAM_COLUMNS)
    return written


_CELL_FIELDS = ("planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n")


def _cell_key(row: dict) -> tuple:
    return (row["project_id"], row["month"], *(Decimal(row[f]) if f != "actual_n" else row[f] for f in _CELL_FIELDS))


def roi_rollup_drift() -> int:
    """How many cells the roll-up holds that the ledger does not say, or lacks (0 when they agree). Reads
    both tables whole: for the rebuild command and the tests, not for a page."""
    ledger = {_cell_key(r) for r in ledger_cells(ROIEntry.objects.all())}
    rollup = {_cell_key(r) for r in ROIMonthRollup.objects.values("project_id", "month", *_CELL_FIELDS).iterator()}
    return len(ledger ^ rollup)
