"""ROI arithmetic: pure functions over a monthly series of reporting-currency totals (no ORM, no request).

The project page and the portfolio dashboard both call `roi_figures()`, so one project and the whole
portfolio are measured the same way. Selectors aggregate the ledger in the database into one
`MonthTotals` per month (already converted to the reporting currency, i.e. sums of
`ROIEntry.amount_reporting`) and pass the list here.

Definitions (all money is `Decimal`, rounded half-up to cents at the end; percentages likewise to 0.01):

* **Series.** The input may be unsorted and sparse, and may hold several rows for one month (they are
  added together). Months are first days of months. The *timeline* runs densely from the first month
  of the series (the earliest month with any planned or actual row) to its last month; a month missing
  from the input counts as all zeros with no actuals logged.
* **Months with actuals.** A month has actuals when `actual_logged` is true; when the caller leaves it
  `None` it is inferred as "actual_value or actual_cost is non-zero".
* **Actuals through** (`actuals_through`): the latest month with actuals, no later than `as_of` when
  given. `None` when nothing actual was logged. Actual amounts in months after `as_of` are ignored.
* **Cumulative value / cost** (`cumulative_value`, `cumulative_cost`): sums of actual value and actual
  cost over the timeline up to `actuals_through`. **Net value** = cumulative value - cumulative cost
  (negative while a project has cost more than it returned).
* **ROI %** (`roi_pct`) = net value / cumulative cost × 100; `None` when cumulative cost is 0.
  `planned_roi_pct` is the same over the whole plan (all planned months, including future ones).
* **Payback month** (`payback_month`): the first month m on the timeline, up to `actuals_through`,
  where cumulative actual cost through m is > 0 and cumulative actual net value through m is >= 0.
  So a project whose net is negative at first pays back in the month the net climbs back to 0 or
  above; one whose value covered its cost from the first month pays back in that first month. It is
  the first time break-even was reached: a later dip below 0 does not move it (the current net value
  tells that). `None` when never reached: no actuals, no cost at all, or the net is still negative.
  `payback_after_months` = months from the first month of the timeline to the payback month,
  counting both (payback in the first month = 1).
* **NPV** (`npv`): Σ over timeline months t = 0, 1, … up to `actuals_through` of
  (actual value - actual cost)_t / (1 + r)^(t/12), where r is the annual `discount_rate` and t = 0 is
  the first month of the timeline (that month is not discounted). `planned_npv` is the same over the
  whole plan with planned amounts.
* **Realised vs planned %** (`realised_vs_planned_pct`) = cumulative actual value / planned value
  over the same months (timeline start to `actuals_through`) × 100. `None` when there are no actuals
  or no value was planned for those months.
* **Value decay** (`value_decay`): a month *falls short* when its planned value is > 0 and its actual
  value is < `decay_share` × planned value (a month with planned value but no actual counts as 0).
  `decay_run_months` is the number of consecutive short months ending at `actuals_through`;
  `value_decay` is true when that run is >= `decay_months`, and `decay_since` is the run's first month.
  A month with no planned value ends a run. No actuals → no decay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
_PRECISION = Context(prec=34)


def month_start(day: dt.date) -> dt.date:
    """The first day of the month a date falls in."""
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month n months after (or before, for negative n) `month`."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from start's month to end's month (0 for the same month; negative if end is earlier)."""
    return (end.year - start.year) * 12 + end.month - start.month


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_reporting(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in some currency, in the reporting currency at `rate` (1 unit = rate reporting units), to cents."""
    return money(_PRECISION.multiply(Decimal(amount), Decimal(rate)))


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole × 100 to 0.01, or None when whole is 0."""
    if not whole:
        return None
    return (_PRECISION.divide(part, whole) * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MonthTotals:
    """One month's ledger totals in the reporting currency (sums of ROIEntry.amount_reporting)."""

    month: dt.date
    planned_value: Decimal = ZERO
    planned_cost: Decimal = ZERO
    actual_value: Decimal = ZERO
    actual_cost: Decimal = ZERO
    # Whether any actual entry exists for the month; None = infer from non-zero actual amounts.
    actual_logged: bool | None = None

    @property
    def has_actuals(self) -> bool:
        if self.actual_logged is not None:
            return self.actual_logged
        return bool(self.actual_value) or bool(self.actual_cost)


@dataclass(frozen=True)
class CumulativePoint:
    """Running totals through one month of the timeline (actuals stop at actuals_through)."""

    month: dt.date
    planned_value: Decimal
    planned_cost: Decimal
    actual_value: Decimal | None  # None after actuals_through
    actual_cost: Decimal | None

    @property
    def actual_net(self) -> Decimal | None:
        if self.actual_value is None or self.actual_cost is None:
            return None
        return self.actual_value - self.actual_cost


@dataclass(frozen=True)
class RoiFigures:
    """Everything derived from one series; see the module docstring for each definition."""

    first_month: dt.date | None
    last_month: dt.date | None
    actuals_through: dt.date | None
    # The plan, whole timeline.
    planned_value: Decimal
    planned_cost: Decimal
    planned_net_value: Decimal
    planned_roi_pct: Decimal | None
    planned_npv: Decimal
    # The plan over the months that have actuals so far (timeline start to actuals_through).
    planned_value_to_date: Decimal
    planned_cost_to_date: Decimal
    # Actuals.
    cumulative_value: Decimal
    cumulative_cost: Decimal
    net_value: Decimal
    roi_pct: Decimal | None
    payback_month: dt.date | None
    payback_after_months: int | None
    npv: Decimal
    realised_vs_planned_pct: Decimal | None
    # Value decay.
    value_decay: bool
    decay_run_months: int
    decay_since: dt.date | None
    months: tuple[CumulativePoint, ...] = field(default=())


def normalise(series: Iterable[MonthTotals]) -> list[MonthTotals]:
    """The dense, sorted timeline: rows of one month added together, missing months as zeros."""
    by_month: dict[dt.date, MonthTotals] = {}
    for row in series:
        month = month_start(row.month)
        seen = by_month.get(month)
        if seen is None:
            by_month[month] = MonthTotals(
                month, row.planned_value, row.planned_cost, row.actual_value, row.actual_cost, row.has_actuals
            )
        else:
            by_month[month] = MonthTotals(
                month,
                seen.planned_value + row.planned_value,
                seen.planned_cost + row.planned_cost,
                seen.actual_value + row.actual_value,
                seen.actual_cost + row.actual_cost,
                seen.has_actuals or row.has_actuals,
            )
    if not by_month:
        return []
    first, last = min(by_month), max(by_month)
    return [
        by_month.get(add_months(first, i)) or MonthTotals(add_months(first, i), actual_logged=False)
        for i in range(months_between(first, last) + 1)
    ]


def sum_series(*series: Iterable[MonthTotals]) -> list[MonthTotals]:
    """Several projects' series as one portfolio series (the dense timeline of their sum)."""
    return normalise(row for s in series for row in s)


def _discount_factors(n: int, discount_rate: Decimal) -> list[Decimal]:
    """(1 + r)^(-t/12) for t = 0..n-1."""
    monthly = _PRECISION.power(Decimal(1) + Decimal(discount_rate), Decimal(1) / Decimal(12))
    factors, factor = [], Decimal(1)
    for _ in range(n):
        factors.append(factor)
        factor = _PRECISION.divide(factor, monthly)
    return factors


def roi_figures(
    series: Iterable[MonthTotals],
    *,
    discount_rate: Decimal,
    decay_share: Decimal,
    decay_months: int,
    as_of: dt.date | None = None,
) -> RoiFigures:
    """Derive every ROI figure of one project or portfolio from its monthly totals (module docstring)."""
    timeline = normalise(series)
    limit = month_start(as_of) if as_of is not None else None
    actual_months = [m.month for m in timeline if m.has_actuals and (limit is None or m.month <= limit)]
    through = max(actual_months) if actual_months else None
    factors = _discount_factors(len(timeline), discount_rate)

    planned_value = planned_cost = planned_npv = ZERO
    planned_value_to_date = planned_cost_to_date = ZERO
    value = cost = npv = ZERO
    payback_month: dt.date | None = None
    payback_after: int | None = None
    run, run_start = 0, None
    points: list[CumulativePoint] = []
    for t, m in enumerate(timeline):
        planned_value += m.planned_value
        planned_cost += m.planned_cost
        planned_npv += (m.planned_value - m.planned_cost) * factors[t]
        in_actuals = through is not None and m.month <= through
        if in_actuals:
            planned_value_to_date += m.planned_value
            planned_cost_to_date += m.planned_cost
            value += m.actual_value
            cost += m.actual_cost
            npv += (m.actual_value - m.actual_cost) * factors[t]
            if payback_month is None and cost > 0 and value - cost >= 0:
                payback_month, payback_after = m.month, t + 1
            if m.planned_value > 0 and m.actual_value < decay_share * m.planned_value:
                run, run_start = run + 1, run_start or m.month
            else:
                run, run_start = 0, None
        points.append(
            CumulativePoint(
                month=m.month,
                planned_value=money(planned_value),
                planned_cost=money(planned_cost),
                actual_value=money(value) if in_actuals else None,
                actual_cost=money(cost) if in_actuals else None,
            )
        )

    decaying = through is not None and decay_months > 0 and run >= decay_months
    return RoiFigures(
        first_month=timeline[0].month if timeline else None,
        last_month=timeline[-1].month if timeline else None,
        actuals_through=through,
        planned_value=money(planned_value),
        planned_cost=money(planned_cost),
        planned_net_value=money(planned_value - planned_cost),
        planned_roi_pct=pct(planned_value - planned_cost, planned_cost),
        planned_npv=money(planned_npv),
        planned_value_to_date=money(planned_value_to_date),
        planned_cost_to_date=money(planned_cost_to_date),
        cumulative_value=money(value),
        cumulative_cost=money(cost),
        net_value=money(value - cost),
        roi_pct=pct(value - cost, cost),
        payback_month=payback_month,
        payback_after_months=payback_after,
        npv=money(npv),
        realised_vs_planned_pct=pct(value, planned_value_to_date) if through is not None else None,
        value_decay=decaying,
        decay_run_months=run if through is not None else 0,
        decay_since=run_start if through is not None and run else None,
        months=tuple(points),
    )
