"""The executive dashboard's reads: every tile, chart and table of the portfolio dashboard (and of
/api/v1/portfolio/summary), aggregated in the database.

Scope and filters first (dashboard/filters.py): `core.lists.filtered(dashboard_filterset(...))` is the
caller's visible projects (projects_for_user) narrowed by the filters (team, stage, tier). Every figure below is
computed over exactly that set, so a filter changes every tile and chart at once and a team lead
never counts another team's rows.

The cost is a fixed handful of queries whatever the portfolio's size (tests/governance/
test_dashboard_query_counts.py):
  * one read of the FX rates (a row per currency), applied to the projects as literals;
  * one GROUP BY (team, stage) over the projects: stage counts, team sizes, business-case totals;
  * one GROUP BY (team, month) over the ROI team roll-up (one row per team and month; per team, stage,
    tier and month under a stage or tier filter), kept equal to the ledger by projects/roi/rollup.py: the
    portfolio's monthly series and each team's totals, from which projects/roi/figures.py derives ROI %,
    payback, NPV, realised vs planned and decay;
  * one aggregate over open risks (high, critical, review overdue), one count of open findings, one of
    pending sign-offs;
  * the bubble matrix's points and the table's page, each one query: a narrow subquery ranks the projects
    by business case, and only the rows it picks get their correlated subqueries.

Money: the ledger is summed in the reporting currency (ROIEntry.amount_reporting, converted when it
was written, summed per project and month in the roll-up). Nothing here reads the ledger's entries: their
number grows with months × categories, the roll-up's only with months.

The business case (expected annual value and investment) is in each project's own currency, so it is
converted here at the latest FX rate of that currency up to this month; a project whose currency
has no rate is counted but left out of the money totals and the matrix, and the page says how many such
projects there are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone

from core.dates import date_window
from core.roles import reads_everything
from projects.models import AIProject, ROIGroupMonthRollup, ROITeamMonthRollup, Stage
from projects.roi.figures import ZERO, MonthTotals, RoiFigures, money, month_start
from projects.roi.selectors import roi_figures_for

from ..compliance.selectors import compliance_coverage
from ..models import Finding, Risk, RiskStatus, SignOffRequest, SignOffStatus
from ..risks.scoring import Level
from .rows import (  # noqa: F401 - the dashboard's per-project reads, used here and read through this module
    MATRIX_LIMIT,
    RATE_PLACES,
    fx_rates,
    matrix_points,
    project_rows,
    ranked_project_rows,
    rate,
    risk_level_label,
    with_business_case,
)
from .to_date import in_progress, month_plan_to_date, realised_vs_plan

# Risk levels counted on the "open high risks" tile.
HIGH_LEVELS = (Level.HIGH, Level.CRITICAL)
# --- the summary ------------------------------------------------------------------------------------


@dataclass
class PortfolioSummary:
    """Every tile and chart of the dashboard, for one user and one set of filters."""

    as_of: dt.date
    as_of_in_progress: bool  # the as-of month is the current one: figures run to today (plan_to_date_q)
    currency: str
    filtered: bool
    project_count: int
    stages: list[dict]
    teams: list[dict]
    months: list[MonthTotals]
    figures: RoiFigures
    quarters: list[dict]
    # The tiles' counts (None when the summary was asked without them: counts=False).
    open_high_risks: int | None
    open_critical_risks: int | None
    open_findings: int | None
    pending_signoffs: int | None
    compliance: dict | None  # obligations met / required over the projects (governance/compliance/selectors.py)
    annual_value: Decimal  # the business cases' expected annual value, in the reporting currency
    investment: Decimal
    unconverted_projects: int  # projects whose currency has no FX rate (left out of the money totals)
    overdue_reviews: (
        dict | None
    )  # {"risks": open risks whose review is overdue, "projects": how many projects they are on}
    fx_rates: dict[str, Decimal]  # each currency's rate at as_of (fx_rates), for the page's project rows

    @property
    def in_production(self) -> int:
        return next((s["count"] for s in self.stages if s["stage"] == Stage.PRODUCTION), 0)

    @property
    def realised_value(self) -> Decimal:
        return self.figures.cumulative_value

    @property
    def realised_cost(self) -> Decimal:
        return self.figures.cumulative_cost


def _stage_and_team_groups(projects: QuerySet[AIProject], *, as_of: dt.date, rates: dict[str, Decimal]) -> list[dict]:
    """One row per (team, stage) holding projects: how many, and their business case in the reporting
    currency. One query."""
    return list(
        with_business_case(projects, as_of=as_of, rates=rates)
        .order_by()
        .values("team_id", "team__name", "team__slug", "stage")
        .annotate(
            n=Count("pk"),
            annual_value=Sum("annual_value_rc"),
            investment=Sum("investment_rc"),
            unconverted=Count("pk", filter=Q(fx_rate__isnull=True)),
        )
    )


def _of_projects(qs: QuerySet, projects: QuerySet[AIProject]) -> QuerySet:
    """`qs` (rows with a `project`) narrowed to `projects`; left whole when `projects` is every project
    (an executive without filters), which spares the database a semi-join over the largest tables."""
    if not projects.query.where:
        return qs
    return qs.filter(project__in=projects.order_by().values("pk"))


def _of_groups(qs: QuerySet[ROIGroupMonthRollup], projects: QuerySet[AIProject]) -> QuerySet[ROIGroupMonthRollup]:
    """The group roll-up's rows of the (team, stage, tier) groups `projects` holds. Exact because the
    dashboard's projects are always whole groups: the visibility ladder picks teams, and the filters teams,
    stages and tiers (dashboard/filters.py)."""
    same_group = projects.order_by().filter(
        team_id=OuterRef("team_id"), stage=OuterRef("stage"), risk_tier=OuterRef("risk_tier")
    )
    return qs.filter(Exists(same_group))


def _ledger_rows(projects: QuerySet[AIProject], *, whole_teams: bool) -> QuerySet:
    """The roll-up rows (one per team or group, and month) of `projects`, in Keel's window of months: the team
    roll-up when `projects` are whole teams, else the (team, stage, tier) group roll-up (projects/roi/rollup.py).
    Never one row per project."""
    first, last = date_window()  # as _rollup(): months outside Keel's window are left out
    if whole_teams or not projects.query.where:
        rows = ROITeamMonthRollup.objects.filter(month__gte=first, month__lte=last)
        if projects.query.where:
            rows = rows.filter(Exists(projects.order_by().filter(team_id=OuterRef("team_id"))))
        return rows.order_by()
    return _of_groups(ROIGroupMonthRollup.objects.filter(month__gte=first, month__lte=last), projects).order_by()


def _ledger_groups(projects: QuerySet[AIProject], *, whole_teams: bool, as_of: dt.date, partial: bool) -> list[dict]:
    """The ledger's totals per month (team None) and per team (month None), in one query (UNION ALL of two
    GROUP BYs over _ledger_rows), so the rows read back are months + teams, not months × teams.

    A month's row holds _LEDGER_KEYS: planned and actual value and cost in the reporting currency, how many
    actuals were logged, and the plan of the projects that reported the month (logged an actual for it:
    plan_to_date_q). A team's row holds its totals to date: actual_value and actual_cost up to `as_of`, and
    in planned_value its plan to date (month_plan_to_date's rule, summed in the database)."""
    rows = _ledger_rows(projects, whole_teams=whole_teams)
    by_month = rows.values(k_month=F("month"), k_team=Value(None, output_field=IntegerField())).annotate(
        **{f"s_{key}": Sum(key) for key in _LEDGER_KEYS}
    )
    # The same columns in the same order (a UNION's rule); a team's planned_value is its plan before the
    # as-of month, planned_cost (reused) the as-of month's plan to date: their sum is the plan to date.
    current = "planned_value_reported" if partial else "planned_value"
    by_team = (
        rows.filter(month__lte=as_of)
        .values(k_month=Value(None, output_field=DateField()), k_team=F("team_id"))
        .annotate(
            s_planned_value=Sum("planned_value", filter=Q(month__lt=as_of)),
            s_planned_cost=Sum(current, filter=Q(month=as_of)),
            **{f"s_{key}": Sum(key) for key in _LEDGER_KEYS[2:]},
        )
    )
    return [
        {"month": row["k_month"], "team_id": row["k_team"], **{key: _dec(row[f"s_{key}"]) for key in _LEDGER_KEYS}}
        for row in by_month.union(by_team, all=True)
    ]


def _dec(value) -> Decimal:
    return ZERO if value is None else Decimal(value)


def quarter_of(month: dt.date) -> str:
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


def quarters(
    months: list[MonthTotals], *, as_of: dt.date, plan_to_date: dict | None = None, partial: bool = False
) -> list[dict]:
    """Planned vs actual per calendar quarter (actuals only up to `as_of`'s month), from the monthly totals.

    planned_value/planned_cost are the whole quarter's plan; planned_*_to_date the plan to date
    (`plan_to_date`: month → (value, cost), as _ledger_months gives it), which is what the actuals are
    compared with. A quarter is "partial" when `as_of` falls inside it and the quarter is not over (its
    last month not reached, or reached but still in progress): comparing its actuals with its whole plan
    would read as a shortfall that is only time not yet passed. "future" quarters start after `as_of`.
    """
    limit = month_start(as_of)
    plan_to_date = plan_to_date or {}
    out: dict[str, dict] = {}
    for m in months:
        q = out.setdefault(
            quarter_of(m.month),
            {"quarter": quarter_of(m.month), "planned_value": ZERO, "planned_cost": ZERO, "actual_value": ZERO,
             "actual_cost": ZERO, "planned_value_to_date": ZERO, "planned_cost_to_date": ZERO, "partial": False,
             "future": False, "label": quarter_of(m.month)},
        )  # fmt: skip
        q["planned_value"] += m.planned_value
        q["planned_cost"] += m.planned_cost
        value, cost = plan_to_date.get(m.month, (ZERO, ZERO))
        q["planned_value_to_date"] += value
        q["planned_cost_to_date"] += cost
        if m.month <= limit:
            q["actual_value"] += m.actual_value
            q["actual_cost"] += m.actual_cost
    here = quarter_of(limit)
    quarter_over = limit.month % 3 == 0 and not partial
    for key, q in out.items():
        q["future"] = key > here
        q["partial"] = key == here and not quarter_over
        if q["partial"]:
            q["label"] = f"{key} to date" if partial else f"{key} to {limit:%b}"
    return [out[k] for k in sorted(out)]


def _pending_signoffs(projects: QuerySet[AIProject]) -> int:
    """Pending sign-off requests of these projects."""
    return _of_projects(SignOffRequest.objects.filter(status=SignOffStatus.PENDING), projects).count()


def portfolio_summary(
    *,
    user,
    projects: QuerySet[AIProject],
    filtered: bool,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    counts: bool = True,
    whole_teams: bool = False,
) -> PortfolioSummary:
    """Every dashboard figure over `projects` (core.lists.filtered over the dashboard filterset for this user),
    to the end of the month `as_of` (the current month, to date, by default).

    counts=False leaves out the tiles' counts of risks, findings, sign-offs and obligations (None in the
    summary), four queries no export table shows. whole_teams: `projects` are whole teams (no stage or tier
    filter: dashboard/filters.py whole_teams), so the ledger is read from the team roll-up; every project
    is, whatever the flag."""
    today = today or timezone.localdate()
    as_of = month_start(as_of or today)
    partial = in_progress(as_of, today=today)
    rates = fx_rates(as_of=as_of)
    stage_counts, teams, (annual_value, investment, unconverted) = _project_groups(projects, as_of=as_of, rates=rates)
    stages = [{"stage": v, "label": label, "count": stage_counts.get(v, 0)} for v, label in Stage.choices]
    months, plan_to_date = _ledger_months(projects, teams=teams, as_of=as_of, partial=partial, whole_teams=whole_teams)
    figures = _with_plan_to_date(roi_figures_for(months, as_of=as_of), plan_to_date)
    team_rows = _team_rows(teams)
    if counts:
        risks = _open_risk_counts(projects)
        overdue = {"risks": risks["overdue_reviews"], "projects": risks["overdue_projects"]}
        open_findings = _open_findings(user=user, projects=projects, filtered=filtered)
        pending, compliance = _pending_signoffs(projects), compliance_coverage(projects=projects)
    else:
        risks, overdue, open_findings, pending, compliance = dict.fromkeys(("high", "critical")), None, None, None, None

    return PortfolioSummary(
        as_of=as_of,
        as_of_in_progress=partial,
        currency=settings.KEEL_REPORTING_CURRENCY,
        filtered=filtered,
        project_count=sum(stage_counts.values()),
        stages=stages,
        teams=team_rows,
        months=months,
        figures=figures,
        quarters=quarters(months, as_of=as_of, plan_to_date=plan_to_date, partial=partial),
        open_high_risks=risks["high"],
        open_critical_risks=risks["critical"],
        overdue_reviews=overdue,
        open_findings=open_findings,
        pending_signoffs=pending,
        compliance=compliance,
        annual_value=money(annual_value),
        investment=money(investment),
        unconverted_projects=unconverted,
        fx_rates=rates,
    )


def _project_groups(
    projects: QuerySet[AIProject], *, as_of: dt.date, rates: dict[str, Decimal]
) -> tuple[dict[str, int], dict[int, dict], tuple[Decimal, Decimal, int]]:
    """Projects per stage, each team's row (its projects and business case; the ledger's totals are added
    by _ledger_months), and the portfolio's business case: expected annual value, investment, and how many
    projects could not be converted to the reporting currency."""
    stage_counts: dict[str, int] = {}
    teams: dict[int, dict] = {}
    annual_value = investment = ZERO
    unconverted = 0
    for g in _stage_and_team_groups(projects, as_of=as_of, rates=rates):
        stage_counts[g["stage"]] = stage_counts.get(g["stage"], 0) + g["n"]
        t = teams.setdefault(
            g["team_id"],
            {"team": g["team__name"], "slug": g["team__slug"], "projects": 0, "annual_value": ZERO,
             "investment": ZERO, "actual_value": ZERO, "actual_cost": ZERO, "planned_value": ZERO},
        )  # fmt: skip
        t["projects"] += g["n"]
        t["annual_value"] += _dec(g["annual_value"])
        t["investment"] += _dec(g["investment"])
        annual_value += _dec(g["annual_value"])
        investment += _dec(g["investment"])
        unconverted += g["unconverted"]
    return stage_counts, teams, (annual_value, investment, unconverted)


_LEDGER_KEYS = ("planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n",
                "planned_value_reported", "planned_cost_reported")  # fmt: skip


def _ledger_months(
    projects: QuerySet[AIProject], *, teams: dict[int, dict], as_of: dt.date, partial: bool, whole_teams: bool = False
) -> tuple[list[MonthTotals], dict[dt.date, tuple[Decimal, Decimal]]]:
    """The portfolio's monthly totals from the ledger, and each month's plan to date (plan_to_date_q:
    month → (value, cost)); each team's totals to date are added to its row in `teams` on the way, so the
    ledger is read once."""
    by_month: dict[dt.date, dict] = {}
    for g in _ledger_groups(projects, whole_teams=whole_teams, as_of=as_of, partial=partial):
        if g["team_id"] is None:
            by_month[g["month"]] = g
        elif (t := teams.get(g["team_id"])) is not None:
            t["actual_value"] += g["actual_value"]
            t["actual_cost"] += g["actual_cost"]
            t["planned_value"] += g["planned_value"] + g["planned_cost"]  # before the as-of month + in it
    months = [
        MonthTotals(month, m["planned_value"], m["planned_cost"], m["actual_value"], m["actual_cost"],
                    actual_logged=m["actual_n"] > 0)
        for month, m in sorted(by_month.items())
    ]  # fmt: skip
    plan_to_date = {month: month_plan_to_date(month, m, as_of=as_of, partial=partial) for month, m in by_month.items()}
    return months, plan_to_date


def _with_plan_to_date(figures: RoiFigures, plan_to_date: dict[dt.date, tuple[Decimal, Decimal]]) -> RoiFigures:
    """The portfolio's figures with the plan to date of plan_to_date_q (the table's), not roi_figures'
    (which stops at the last month with any actual): the tile and the table's rows then add up."""
    value = money(sum((v for v, _ in plan_to_date.values()), ZERO))
    cost = money(sum((c for _, c in plan_to_date.values()), ZERO))
    return dataclasses.replace(
        figures,
        planned_value_to_date=value,
        planned_cost_to_date=cost,
        realised_vs_planned_pct=realised_vs_plan(figures.cumulative_value, value)
        if figures.actuals_through is not None
        else None,
    )


def _team_rows(teams: dict[int, dict]) -> list[dict]:
    """The teams, most value realised first, their money rounded as the page shows it."""
    team_rows = sorted(teams.values(), key=lambda t: (-t["actual_value"], -t["annual_value"], t["team"]))
    for t in team_rows:
        for key in ("annual_value", "investment", "actual_value", "actual_cost", "planned_value"):
            t[key] = money(t[key])
    return team_rows


def _open_risk_counts(projects: QuerySet[AIProject]) -> dict:
    """Open (not closed) risks of these projects whose residual level is high, and critical; and those whose
    review is overdue, and on how many projects (the "Needs attention" list's line). One query."""
    overdue = Q(review_overdue=True)
    return (
        _of_projects(Risk.objects.filter(Q(residual_level__in=HIGH_LEVELS) | overdue), projects)
        .exclude(status=RiskStatus.CLOSED)
        .aggregate(
            high=Count("pk", filter=Q(residual_level=Level.HIGH)),
            critical=Count("pk", filter=Q(residual_level=Level.CRITICAL)),
            overdue_reviews=Count("pk", filter=overdue),
            overdue_projects=Count("project", filter=overdue, distinct=True),
        )
    )


def _open_findings(*, user, projects: QuerySet[AIProject], filtered: bool) -> int:
    """Open findings of these projects, and (for readers of everything, unfiltered) those of no project."""
    # Findings about no project (an unreachable registry, say) belong to no team, stage or tier: they
    # count for those who read everything, while no filter narrows the portfolio (which is then all of it).
    open_findings = Finding.objects.filter(resolved_at__isnull=True)
    if filtered or not reads_everything(user):
        open_findings = open_findings.filter(project__in=projects.order_by().values("pk"))
    return open_findings.count()


def month_rows(summary: PortfolioSummary) -> list[dict]:
    """The monthly series with its running totals, as the export and the API give it."""
    points = {p.month: p for p in summary.figures.months}
    rows = []
    for m in summary.months:
        p = points.get(m.month)
        rows.append({
            "month": m.month, "planned_value": money(m.planned_value), "planned_cost": money(m.planned_cost),
            "actual_value": money(m.actual_value) if m.month <= summary.as_of else None,
            "actual_cost": money(m.actual_cost) if m.month <= summary.as_of else None,
            "cumulative_planned_value": p.planned_value if p else None,
            "cumulative_planned_cost": p.planned_cost if p else None,
            "cumulative_actual_value": p.actual_value if p else None,
            "cumulative_actual_cost": p.actual_cost if p else None,
        })  # fmt: skip
    return rows
