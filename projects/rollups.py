"""The dashboard's roll-ups of the ROI roll-up (projects/roi/rollup.py): its rows summed once more per
(team, stage, tier) group of projects and month (ROIGroupMonthRollup), and per team and month
(ROITeamMonthRollup), so the portfolio dashboard reads rows per group or team, never per project.

Both are recomputed, never adjusted by deltas, for the groups and months a write touched, in that write's
transaction: by roi_rollup_refresh after every ledger write, and by roi_group_rollup_move when a project
changes team, stage or tier or is deleted (projects/inventory/services.py, governance's tier assessment).
A module of its own, not part of roi/, so that inventory can call it (roi imports inventory). Derived data,
not audited (see projects/roi/rollup.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import ROIGroupMonthRollup, ROIMonthRollup, ROITeamMonthRollup, Team

BATCH = 2000
_MONEY = DecimalField(max_digits=18, decimal_places=2)


def insert_select(model, rows: QuerySet, columns: dict[str, str]) -> int:
    """INSERT INTO `model`'s table the rows of a values() queryset, as one INSERT … SELECT: set-based, no row
    leaves the database (a bulk load's refresh wrote 180,000 cells through Python). `columns` maps each model
    field written to its alias in `rows`. Returns how many rows. SQLite's decimal columns hold floats, so
    there its sums are rounded to the field's places, as the Decimal a Python insert passes is stored."""
    sql, params = rows.order_by().query.sql_with_params()
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]

    def source(field, alias: str) -> str:
        if connection.vendor == "sqlite" and isinstance(field, DecimalField):
            return f"ROUND(cells.{quote(alias)}, {field.decimal_places})"
        return f"cells.{quote(alias)}"

    targets = ", ".join(quote(f.column) for f in fields)
    sources = ", ".join(source(f, alias) for f, alias in zip(fields, columns.values(), strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({targets}) SELECT {sources} FROM ({sql}) cells",  # noqa: S608 - names from the models, values bound
            params,
        )
        return cursor.rowcount


Group = tuple[int, str, str]  # (team id, stage, risk tier) of a project
_GROUP_SUMS = ("planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n",
               "planned_value_reported", "planned_cost_reported", "cells")  # fmt: skip


def _reported(field_name: str) -> Coalesce:
    return Coalesce(
        Sum(field_name, filter=Q(actual_n__gt=0)), Value(Decimal("0"), output_field=_MONEY), output_field=_MONEY
    )


# Each roll-up field and its alias in the sums below (annotations may not take the name of a column of the
# model summed, and every column of an INSERT … SELECT source is named: insert_select).
GROUP_COLUMNS = {"team": "cell_team", "stage": "cell_stage", "risk_tier": "cell_tier", "month": "cell_month",
                 **{name: f"total_{name}" for name in _GROUP_SUMS}}  # fmt: skip
TEAM_COLUMNS = {"team": "cell_team", "month": "cell_month", **{name: f"total_{name}" for name in _GROUP_SUMS}}


def group_sums(rollups) -> QuerySet:
    """The sums of ROIMonthRollup rows (a queryset of them) per (team, stage, tier, month), aliased as
    GROUP_COLUMNS says."""
    return (
        rollups.order_by()
        .values(cell_team=F("project__team_id"), cell_stage=F("project__stage"), cell_tier=F("project__risk_tier"),
                cell_month=F("month"))
        .annotate(
            total_planned_value=Sum("planned_value"), total_planned_cost=Sum("planned_cost"),
            total_actual_value=Sum("actual_value"), total_actual_cost=Sum("actual_cost"),
            total_actual_n=Sum("actual_n"), total_planned_value_reported=_reported("planned_value"),
            total_planned_cost_reported=_reported("planned_cost"), total_cells=Count("id"),
        )
    )  # fmt: skip


def team_sums(groups) -> QuerySet:
    """The sums of ROIGroupMonthRollup rows (a queryset of them) per (team, month), aliased as TEAM_COLUMNS says."""
    return (
        groups.order_by()
        .values(cell_team=F("team_id"), cell_month=F("month"))
        .annotate(**{f"total_{name}": Sum(name) for name in _GROUP_SUMS})
    )


def _as_fields(rows: QuerySet, columns: dict[str, str]) -> Iterable[dict]:
    for row in rows.iterator(chunk_size=BATCH):
        yield {("team_id" if name == "team" else name): row[alias] for name, alias in columns.items()}


def group_cells(rollups) -> Iterable[dict]:
    """group_sums() streamed as ROIGroupMonthRollup fields. Field names only, so the migration that fills the
    table can use it."""
    return _as_fields(group_sums(rollups).order_by("cell_team", "cell_stage", "cell_tier", "cell_month"), GROUP_COLUMNS)


def team_cells(groups) -> Iterable[dict]:
    """team_sums() streamed as ROITeamMonthRollup fields. Field names only (the migration uses it too)."""
    return _as_fields(team_sums(groups).order_by("cell_team", "cell_month"), TEAM_COLUMNS)


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
    in_months = Q(month__in=sorted({m.replace(day=1) for m in months})) if months is not None else Q()
    ROIGroupMonthRollup.objects.filter(_groups_q(groups), in_months).delete()
    insert_select(
        ROIGroupMonthRollup,
        group_sums(ROIMonthRollup.objects.filter(_groups_q(groups, "project__"), in_months)),
        GROUP_COLUMNS,
    )
    teams = Q(team_id__in=sorted({team_id for team_id, _, _ in groups}))
    ROITeamMonthRollup.objects.filter(teams, in_months).delete()
    insert_select(ROITeamMonthRollup, team_sums(ROIGroupMonthRollup.objects.filter(teams, in_months)), TEAM_COLUMNS)


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
