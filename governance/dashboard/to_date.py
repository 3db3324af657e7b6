"""The dashboard's one as-of month and its "plan to date": what the actuals are compared with.

The whole page (and /api/v1/portfolio/summary) runs to the end of one month, `as_of`, the current month
by default; the current month is "in progress" (figures to date). Both the tiles (selectors._ledger_months)
and the project table (selectors.project_rows) take their plan to date from here, so they add up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from projects.roi.figures import ZERO, month_start, pct


def in_progress(as_of: dt.date, *, today: dt.date | None = None) -> bool:
    """Whether the as-of month is the current month, which is not over yet."""
    return month_start(as_of) >= month_start(today or timezone.localdate())


def plan_to_date_q(as_of: dt.date, *, today: dt.date | None = None) -> Q:
    """The roll-up rows (projects.models.ROIMonthRollup: one project's month) whose plan counts in "plan to
    date", the yardstick of "realised vs plan".

    Every month up to the as-of month counts its plan: a complete month without an actual is a shortfall
    (nothing realised is recorded), which is the conservative reading. The one exception is the current
    month while it is in progress: a project's plan for it counts only once that project has logged an
    actual for it, so the first days of a month never read as a miss (the quarterly chart's false 35 %
    shortfall) nor an early actual as a windfall. The page's rows and its tiles both use this rule
    (project_rows through the ORM, _ledger_months through month_plan_to_date), and a test holds them equal.
    """
    if not in_progress(as_of, today=today):
        return Q(month__lte=as_of)
    return Q(month__lt=month_start(as_of)) | Q(month=month_start(as_of), actual_n__gt=0)


def month_plan_to_date(month: dt.date, row: dict, *, as_of: dt.date, partial: bool) -> tuple[Decimal, Decimal]:
    """plan_to_date_q() for one month's totals: (planned value, planned cost) that count to date."""
    if month > as_of:
        return ZERO, ZERO
    if month == as_of and partial:
        return row["planned_value_reported"], row["planned_cost_reported"]
    return row["planned_value"], row["planned_cost"]


def realised_vs_plan(actual: Decimal, planned_to_date: Decimal) -> Decimal | None:
    """Realised vs plan to date, % (None when nothing is planned to date): the table's column and the tile."""
    return pct(actual, planned_to_date)
