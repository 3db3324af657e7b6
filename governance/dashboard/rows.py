"""The dashboard's per-project reads: each project's business case in the reporting currency (at the latest FX
rate of its currency up to the month shown), its risk position and its ledger to date; the table's pages and
the bubble matrix's points, each one query (selectors.py, which holds the portfolio figures, explains the
query budget)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from core.dates import date_window
from projects.models import AIProject, FxRate, ROIMonthRollup
from projects.roi.figures import ZERO, money

from ..models import Risk, RiskStatus
from ..risks.scoring import band_for
from .to_date import plan_to_date_q

# The bubble matrix draws at most this many projects (the highest expected annual value first); the
# table and the exports hold every project.
MATRIX_LIMIT = 200

_MONEY = DecimalField(max_digits=20, decimal_places=2)
_RATE = DecimalField(max_digits=18, decimal_places=8)


# --- business case in the reporting currency --------------------------------------------------------


def fx_rates(*, as_of: dt.date) -> dict[str, Decimal]:
    """Each currency's latest rate up to `as_of` (reporting units per unit), the reporting currency's 1
    included. One query; its rows are the currencies, however many projects there are."""
    latest = FxRate.objects.filter(currency=OuterRef("currency"), month__lte=as_of).order_by("-month").values("month")
    rates = FxRate.objects.filter(month=Subquery(latest[:1])).values_list("currency", "rate")
    return {**dict(rates), settings.KEEL_REPORTING_CURRENCY: Decimal(1)}


def _fx_rate(rates: dict[str, Decimal]):
    """Per project: its currency's rate in `rates` (fx_rates), NULL when it has none. Literal values: a
    subquery per project made every page read grow with the portfolio (the table sorts every project by it)."""
    whens = [When(currency=currency, then=Value(r, output_field=_RATE)) for currency, r in sorted(rates.items())]
    return Case(*whens, default=Value(None, output_field=_RATE), output_field=_RATE)


def _times_rate(name: str):
    return ExpressionWrapper(F(name) * F("fx_rate"), output_field=_MONEY)


def with_business_case(
    projects: QuerySet[AIProject], *, as_of: dt.date, rates: dict[str, Decimal] | None = None
) -> QuerySet[AIProject]:
    """Adds fx_rate, annual_value_rc and investment_rc (the business case in the reporting currency).
    `rates` is fx_rates(as_of=as_of), read here when not given."""
    rates = fx_rates(as_of=as_of) if rates is None else rates
    return projects.annotate(fx_rate=_fx_rate(rates)).annotate(
        annual_value_rc=_times_rate("expected_annual_value"), investment_rc=_times_rate("expected_investment")
    )


# --- per-project rows: the matrix, the table, the export -------------------------------------------


def _rollup() -> QuerySet[ROIMonthRollup]:
    """The ROI roll-up's months that Keel accepts (core.dates.date_window), for the tiles and the rows alike.
    Writes refuse other months; a ledger row from before that rule (9999-12, 0001-01) is left out here, since
    one such typo would stretch the monthly timeline every figure runs over (first to last month, densely)
    across thousands of years and make the page ten times slower."""
    first, last = date_window()
    return ROIMonthRollup.objects.filter(month__gte=first, month__lte=last)


def _sum_of(qs: QuerySet, field_name: str):
    """A one-value subquery summing `field_name` over `qs` (filtered on an OuterRef)."""
    return Subquery(
        qs.order_by().values("project").annotate(total=Sum(field_name)).values("total"), output_field=_MONEY
    )


_ORDER = (F("annual_value_rc").desc(nulls_last=True), "name", "id")


def project_rows(
    projects: QuerySet[AIProject],
    *,
    as_of: dt.date,
    today: dt.date | None = None,
    rates: dict[str, Decimal] | None = None,
    lean: bool = False,
) -> QuerySet[AIProject]:
    """Each project with its business case in the reporting currency, its risk position and its ledger
    to date, highest expected annual value first (projects without an FX rate last). planned_value is
    the plan to date (plan_to_date_q). `rates`: fx_rates(as_of=as_of), read when not given. lean: without
    actual_cost and planned_value (the matrix).

    For a page of the table or the matrix's top, use ranked_project_rows: ordering this queryset whole
    computes every row's columns before the sort picks a few.

    risk_score is the highest residual score (1-25) among the project's risks that are not closed,
    0 when it has none: the matrix's x axis.
    """
    open_risks = Risk.objects.filter(project=OuterRef("pk")).exclude(status=RiskStatus.CLOSED)
    to_date = _rollup().filter(project=OuterRef("pk"), month__lte=as_of)
    planned = _rollup().filter(plan_to_date_q(as_of, today=today), project=OuterRef("pk"))
    rows = with_business_case(projects.select_related("team"), as_of=as_of, rates=rates).annotate(
        risk_score=Coalesce(
            Subquery(open_risks.order_by().values("project").annotate(m=Max("residual_score")).values("m")), 0
        ),
        open_risk_count=Coalesce(
            Subquery(open_risks.order_by().values("project").annotate(n=Count("pk")).values("n")), 0
        ),
        actual_value=Coalesce(_sum_of(to_date, "actual_value"), Value(ZERO)),
    )
    if not lean:  # the matrix shows neither (each is a subquery per row)
        rows = rows.annotate(
            actual_cost=Coalesce(_sum_of(to_date, "actual_cost"), Value(ZERO)),
            planned_value=Coalesce(_sum_of(planned, "planned_value"), Value(ZERO)),
        )
    return rows.order_by(*_ORDER)


def ranked_project_rows(
    projects: QuerySet[AIProject],
    *,
    as_of: dt.date,
    start: int,
    stop: int,
    rates: dict[str, Decimal] | None = None,
    converted_only: bool = False,
    today: dt.date | None = None,
    lean: bool = False,
) -> QuerySet[AIProject]:
    """project_rows() of the projects ranked `start` to `stop` (exclusive) in its order (converted_only:
    among those with an FX rate), one query: a narrow subquery ranks the projects by their business case
    alone (no join, no per-project subquery), and only the rows it picks get their columns computed."""
    rates = fx_rates(as_of=as_of) if rates is None else rates
    ranking = with_business_case(projects.order_by().select_related(None), as_of=as_of, rates=rates)
    if converted_only:
        ranking = ranking.filter(fx_rate__isnull=False)
    picked = ranking.order_by(*_ORDER).values("pk")[start:stop]
    return project_rows(projects.filter(pk__in=picked), as_of=as_of, today=today, rates=rates, lean=lean)


RATE_PLACES = Decimal("0.00000001")


def rate(value) -> Decimal | None:
    """An FX rate as stored (8 places), whatever type the database handed back."""
    return None if value is None else Decimal(value).quantize(RATE_PLACES)


def risk_level_label(score: int) -> str:
    """How the matrix names an x position: the band of a residual score, or "No open risk"."""
    return band_for(score).level.label if score else "No open risk"


def matrix_points(
    projects: QuerySet[AIProject],
    *,
    as_of: dt.date,
    rates: dict[str, Decimal] | None = None,
    limit: int = MATRIX_LIMIT,
) -> list[dict]:
    """The bubble matrix's points: the `limit` projects with the highest expected annual value (those
    with an FX rate), one query (two without `rates`, the summary's fx_rates)."""
    rows = ranked_project_rows(projects, as_of=as_of, rates=rates, start=0, stop=limit, converted_only=True, lean=True)
    return [
        {
            "name": p.name,
            "slug": p.slug,
            "team": p.team.name,
            "stage": p.stage,
            "stage_label": p.get_stage_display(),
            "risk_score": p.risk_score,
            "risk_level": risk_level_label(p.risk_score),
            "open_risks": p.open_risk_count,
            "annual_value": money(p.annual_value_rc),
            "investment": money(p.investment_rc),
            "actual_value": money(p.actual_value),
        }
        for p in rows
    ]
