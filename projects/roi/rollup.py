"""The ROI roll-up: one row per (project, month) with the ledger's planned and actual value and cost in the
reporting currency (projects.models.ROIMonthRollup), so that the portfolio dashboard and its summary API
read a few rows per project instead of every entry.

One rule keeps it right: every write to the ledger names the (project, month) cells it touched and calls
roi_rollup_refresh() in the same transaction, which recomputes exactly those cells from the ledger
(delete, then insert the ledger's sums). Recomputing rather than adding deltas means a cell can never
drift, whatever the write was (create, edit that moves an entry to another month, delete, restore,
import, FX re-conversion). rebuild_roi_rollup (a management command) recomputes every cell, for data
written outside the services (seed_portfolio, a restore from backup).

A second, coarser roll-up sums those rows once more per (team, stage, tier) group of projects and month
(projects.models.ROIGroupMonthRollup), and a third per team and month (ROITeamMonthRollup): the dashboard's
monthly series and team totals read one of them (the team one when its projects are whole teams), so their
cost follows the number of groups or teams, not of projects. It is recomputed the same way, for the groups and months a
write touched: by roi_rollup_refresh after every ledger write, and by roi_group_rollup_move when a project
changes team, stage or tier (or is deleted), in that write's transaction.

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

from ..models import (
    AIProject,
    RoiBasis,
    ROIEntry,
    ROIGroupMonthRollup,
    RoiKind,
    ROIMonthRollup,
    ROITeamMonthRollup,
    Team,
)
from .figures import month_start

_MONEY = DecimalField(max_digits=18, decimal_places=2)
BATCH = 2000


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


def _insert(model, rows: Iterable[dict]) -> int:
    batch, total = [], 0
    for row in rows:
        batch.append(model(**row))
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            total, batch = total + len(batch), []
    model.objects.bulk_create(batch)
    return total + len(batch)


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
    _insert(ROIMonthRollup, ledger_cells(ROIEntry.objects.filter(where)))
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
    written = _insert(ROIMonthRollup, ledger_cells(ROIEntry.objects.filter(project_id__in=ids)))
    roi_group_rollup_refresh(groups=groups)
    return written


@transaction.atomic
def roi_rollup_rebuild() -> int:
    """Recompute the whole roll-up from the ledger; returns the rows written. The table is locked against
    concurrent ledger writes by the projects' rows, as for a refresh."""
    list(AIProject.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
    ROIMonthRollup.objects.all().delete()
    written = _insert(ROIMonthRollup, ledger_cells(ROIEntry.objects.all()))
    ROIGroupMonthRollup.objects.all().delete()
    _insert(ROIGroupMonthRollup, group_cells(ROIMonthRollup.objects.all()))
    ROITeamMonthRollup.objects.all().delete()
    _insert(ROITeamMonthRollup, team_cells(ROIGroupMonthRollup.objects.all()))
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


# --- the group roll-up: (team, stage, tier) × month ----------------------------------------------------

Group = tuple[int, str, str]  # (team id, stage, risk tier) of a project
_GROUP_SUMS = ("planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n",
               "planned_value_reported", "planned_cost_reported", "cells")  # fmt: skip


def _reported(field_name: str) -> Coalesce:
    return Coalesce(
        Sum(field_name, filter=Q(actual_n__gt=0)), Value(Decimal("0"), output_field=_MONEY), output_field=_MONEY
    )


def group_cells(rollups) -> Iterable[dict]:
    """The sums of ROIMonthRollup rows (a queryset of them) per (team, stage, tier, month), streamed as
    ROIGroupMonthRollup fields. Field names only, so the migration that fills the table can use it."""
    # Annotations may not take the name of a column of the model summed: total_* here, renamed below.
    rows = (
        rollups.order_by()
        .values("month", group_team_id=F("project__team_id"), group_stage=F("project__stage"),
                group_tier=F("project__risk_tier"))
        .annotate(
            total_planned_value=Sum("planned_value"), total_planned_cost=Sum("planned_cost"),
            total_actual_value=Sum("actual_value"), total_actual_cost=Sum("actual_cost"),
            total_actual_n=Sum("actual_n"), total_planned_value_reported=_reported("planned_value"),
            total_planned_cost_reported=_reported("planned_cost"), total_cells=Count("id"),
        )
        .order_by("group_team_id", "group_stage", "group_tier", "month")
    )  # fmt: skip
    for row in rows.iterator(chunk_size=BATCH):
        yield {
            "team_id": row["group_team_id"], "stage": row["group_stage"], "risk_tier": row["group_tier"],
            "month": row["month"], **{name: row[f"total_{name}"] for name in _GROUP_SUMS},
        }  # fmt: skip


def team_cells(groups) -> Iterable[dict]:
    """The sums of ROIGroupMonthRollup rows (a queryset of them) per (team, month), streamed as
    ROITeamMonthRollup fields. Field names only (the migration uses it too)."""
    rows = (
        groups.order_by()
        .values("team_id", "month")
        .annotate(**{f"total_{name}": Sum(name) for name in _GROUP_SUMS})
        .order_by("team_id", "month")
    )
    for row in rows.iterator(chunk_size=BATCH):
        yield {"team_id": row["team_id"], "month": row["month"], **{name: row[f"total_{name}"] for name in _GROUP_SUMS}}


# Past this many groups a refresh covers every group of their teams instead (a superset recomputes exactly
# too): one OR term per group would exceed SQLite's expression depth (1,000) on a bulk load.
GROUPS_ONE_BY_ONE = 50


def _groups_q(groups: set[Group], prefix: str = "") -> Q:
    if len(groups) > GROUPS_ONE_BY_ONE:
        return Q(**{f"{prefix}team_id__in": sorted({team_id for team_id, _, _ in groups})})
    where = Q()
    for team_id, stage, tier in sorted(groups):
        where |= Q(**{f"{prefix}team_id": team_id, f"{prefix}stage": stage, f"{prefix}risk_tier": tier})
    return where


def roi_group_rollup_refresh(*, groups: Iterable[Group], months: Iterable[dt.date] | None = None) -> None:
    """Recompute the group roll-up of these groups (for these months; every month when None) from the
    per-project roll-up and the projects' current team, stage and tier. Must run inside the transaction that
    changed them, after the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("roi_group_rollup_refresh must run inside the transaction that changed the roll-up")
    groups = set(groups)
    if not groups:
        return
    # Two writers on different projects of one group would each sum the other's old rows: the teams' rows
    # serialise them (FOR NO KEY UPDATE: projects can still be added to the team meanwhile). Always taken
    # after the projects' rows, in pk order, like every ROI write does.
    list(
        Team.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted({team_id for team_id, _, _ in groups}))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    in_months = Q(month__in=sorted({month_start(m) for m in months})) if months is not None else Q()
    ROIGroupMonthRollup.objects.filter(_groups_q(groups), in_months).delete()
    _insert(ROIGroupMonthRollup, group_cells(ROIMonthRollup.objects.filter(_groups_q(groups, "project__"), in_months)))
    teams = Q(team_id__in=sorted({team_id for team_id, _, _ in groups}))
    ROITeamMonthRollup.objects.filter(teams, in_months).delete()
    _insert(ROITeamMonthRollup, team_cells(ROIGroupMonthRollup.objects.filter(teams, in_months)))


def roi_group_rollup_move(*, project_id: int, before: Group, after: Group | None) -> None:
    """After a project changed team, stage or tier (`after`; None when it was deleted), in the same
    transaction: its months leave the group it was in and join its new one."""
    if before == after:
        return
    months = set(ROIMonthRollup.objects.filter(project_id=project_id).values_list("month", flat=True))
    if after is None:
        # Deleted: its roll-up rows went with it, so its months are whatever the group still holds for it.
        months = None
    elif not months:
        return
    roi_group_rollup_refresh(groups={before, after} - {None}, months=months)


def roi_group_rollup_drift() -> int:
    """How many group and team cells differ from the per-project roll-up summed again (0 when they agree)."""

    def key(row: dict) -> tuple:
        return (row["team_id"], row["stage"], row["risk_tier"], row["month"],
                *(row[f] if f in ("actual_n", "cells") else Decimal(row[f]) for f in _GROUP_SUMS))  # fmt: skip

    expected = {key(r) for r in group_cells(ROIMonthRollup.objects.all())}
    stored = {
        key(r)
        for r in ROIGroupMonthRollup.objects.values("team_id", "stage", "risk_tier", "month", *_GROUP_SUMS).iterator()
    }
    expected_teams: dict[tuple, list] = {}
    for row in expected:
        sums = expected_teams.setdefault((row[0], row[3]), [0] * len(_GROUP_SUMS))
        for i, value in enumerate(row[4:]):
            sums[i] += value
    teams = {(*k, *v) for k, v in expected_teams.items()}
    stored_teams = {
        (r["team_id"], r["month"], *(r[f] if f in ("actual_n", "cells") else Decimal(r[f]) for f in _GROUP_SUMS))
        for r in ROITeamMonthRollup.objects.values("team_id", "month", *_GROUP_SUMS).iterator()
    }
    return len(expected ^ stored) + len(teams ^ stored_teams)
