"""The executive portfolio dashboard: the page and its exports (an executive's home, views/home.py, shows it too).

Thin: the filters and every figure come from governance/dashboard/selectors.py, the charts from
governance/dashboard/charts.py; this module shapes them for the page and the exports.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.urls import reverse
from django.views.generic import TemplateView

from core import roles
from core.exports import EXPORT_FORMATS, csv_response, export_filename, xlsx_response
from core.lists import INVALID_FILTER, UNKNOWN_EXPORT, bad_request, filter_errors_text, filtered
from core.permissions import RoleRequiredMixin
from projects.models import RegisteredModel, Stage
from projects.registries import links as registry_links
from projects.roi.figures import money

from ..compliance.selectors import coverage_by_team
from ..dashboard import charts
from ..dashboard.attention import attention_counts, project_health, unapproved_production, with_health_signals
from ..dashboard.filters import as_of_of, dashboard_filterset, is_filtered, whole_teams
from ..dashboard.selectors import (
    MATRIX_LIMIT,
    matrix_points,
    month_rows,
    portfolio_summary,
    project_rows,
    ranked_project_rows,
    rate,
    risk_level_label,
)
from ..dashboard.to_date import realised_vs_plan
from ..incidents.selectors import incident_counts, incidents_of_projects
from ..signoff.champions import comparisons
from ..signoff.champions import counts as champion_counts

ALL_ROLES = roles.ALL_ROLES
EXPORT_TABLES = ("projects", "months", "quarters", "teams", "stages")
UNKNOWN_TABLE = "Unknown table {table!r}; choose one of: {tables}."
# The project table's page: the whole portfolio of a typical organisation on one page, and never a last
# page of a few projects alone (they join the page before: Paginator's orphans).
PAGE_SIZE, PAGE_ORPHANS = 50, 10


def _project_url(slug: str) -> str:
    return reverse("projects:detail", kwargs={"slug": slug})


def dashboard_context(request, *, page_size: int = PAGE_SIZE) -> dict:
    """Everything the dashboard page shows, for request.user and the filters in request.GET."""
    filterset = dashboard_filterset(data=request.GET, request=request)
    projects = filtered(filterset)
    narrowed = is_filtered(filterset)
    summary = portfolio_summary(
        user=request.user, projects=projects, filtered=narrowed, as_of=as_of_of(filterset),
        whole_teams=whole_teams(filterset),
    )  # fmt: skip
    currency = summary.currency

    points = matrix_points(projects, as_of=summary.as_of, rates=summary.fx_rates)
    for p in points:
        p["url"] = _project_url(p["slug"])
    months = month_rows(summary)
    stage_choices = list(Stage.choices)
    figures = {
        "matrix": charts.value_risk_matrix(points, stages=stage_choices, currency=currency),
        "cumulative": charts.cumulative_value_cost(months, currency=currency),
        "quarters": charts.planned_vs_actual_quarters(summary.quarters, currency=currency),
        "funnel": charts.stage_funnel(summary.stages),
        "teams": charts.value_by_team(summary.teams, currency=currency),
    }
    compliance_teams = coverage_by_team(projects)
    if compliance_teams:
        figures["compliance"] = charts.compliance_by_team(compliance_teams)

    rows = _RankedRows(projects, summary)
    page = Paginator(rows, page_size, orphans=PAGE_ORPHANS).get_page(request.GET.get("page"))
    for p in page.object_list:
        p.risk_level = risk_level_label(p.risk_score)
        p.realised_pct = realised_vs_plan(p.actual_value, p.planned_value)
        p.health = _health_of(p)
    unapproved_count, unapproved = unapproved_production(projects)
    for v in unapproved:
        v.signals_text = ", ".join(f"{d.get_signal_display().lower()} “{d.name}”" for d in v.production_signals)
        v.registry_url = registry_links.version_url(v)

    filter_params = request.GET.copy()
    for name in ("page", "export", "table"):
        filter_params.pop(name, None)
    drill = _drill_down_params(filterset, summary.stages)
    counts = attention_counts(user=request.user, projects=projects, filtered=narrowed, overdue=summary.overdue_reviews)
    counts["incidents"] = incident_counts(incidents_of_projects(projects))
    return {
        "filter": filterset,
        "filtered": narrowed,
        "summary": summary,
        "figures": summary.figures,
        "charts": figures,
        "matrix_shown": len(points),
        "matrix_limit": MATRIX_LIMIT,
        "months": months,
        "page_obj": page,
        "rows": page.object_list,
        "querystring": filter_params.urlencode(),
        "dashboard_url": reverse("governance:dashboard"),
        "export_tables": EXPORT_TABLES,
        "drill": drill,
        "unapproved_count": unapproved_count,
        "unapproved": unapproved,
        "attention": _attention_items(summary, counts, unapproved_count, drill),
        "incidents": counts["incidents"],
        "decay_share_pct": int(settings.KEEL_VALUE_DECAY_SHARE * 100),
        "challengers": champion_counts(comparisons(RegisteredModel.objects.filter(project__in=projects))),
    }


class _RankedRows:
    """The table's rows as the Paginator takes them: the count is the summary's (no COUNT query), and a page
    is one query for its own rows (ranked_project_rows), whatever the portfolio's size."""

    def __init__(self, projects, summary):
        self.projects, self.summary = projects, summary

    def count(self) -> int:
        return self.summary.project_count

    def __len__(self) -> int:
        return self.summary.project_count

    def __getitem__(self, window: slice) -> list:
        rows = ranked_project_rows(
            self.projects, as_of=self.summary.as_of, rates=self.summary.fx_rates, start=window.start, stop=window.stop
        )
        return list(with_health_signals(rows))


def _attention_items(summary, counts: dict, unapproved_count: int, drill: dict) -> list[dict]:
    """The "Needs attention" list: one line per kind of trouble that is present, worst first, each a link
    to where it is acted on."""
    findings = reverse("governance:findings")
    incidents, incident_list = counts["incidents"], reverse("governance:incidents")
    lines = [
        (incidents["report_overdue"], "{n} serious incident report(s) to the authority overdue",
         f"{incident_list}?report_overdue=true"),
        (incidents["open_serious"], "{n} open serious incident(s)", f"{incident_list}?status=open&serious=true"),
        (incidents["not_assessed"], "{n} open incident(s) not assessed for seriousness yet",
         f"{incident_list}?status=open&serious=unknown"),
        (unapproved_count, "{n} model version(s) in production without a valid sign-off", "#unapproved-production"),
        (counts["overdue_reviews"], f"{{n}} risk review(s) overdue on {counts['overdue_projects']} project(s)",
         f"{reverse('governance:risks')}?{drill['overdue_risks']}"),
        (summary.compliance["unmet"], "{n} compliance obligation(s) unmet", reverse("governance:pii-inventory")),
        (counts["value_decay"], "{n} project(s) with value below plan for months (value decay)",
         f"{findings}?open=true&kind=value_decay"),
        (counts["unowned_models"], "{n} model(s) in production that no project owns",
         f"{findings}?open=true&kind=unowned_production_model"),
    ]  # fmt: skip
    return [{"count": n, "text": text.format(n=n), "url": url} for n, text, url in lines if n]


def _health_of(p):
    """project_health() of a with_health_signals(project_rows()) row."""
    return project_health(
        stage=p.stage, realised_pct=realised_vs_plan(p.actual_value, p.planned_value),
        unapproved_production=p.unapproved_production, overdue_reviews=p.overdue_reviews,
        open_high_findings=p.open_high_findings,
    )  # fmt: skip


def _drill_down_params(filterset, stages: list[dict]) -> dict:
    """The query strings that carry the dashboard's filters (team, tier; stage where it applies) to the
    project and risk lists, and one per stage for the stage strip."""
    common = QueryDict(mutable=True)
    chosen_stages: list[str] = []
    if filterset.is_bound and filterset.is_valid():
        data = filterset.form.cleaned_data
        if data.get("team"):
            common["team"] = data["team"].slug
        if data.get("tier"):
            common.setlist("tier", data["tier"])
        chosen_stages = list(data.get("stage") or [])

    def with_(**lists) -> str:
        q = common.copy()
        for name, values in lists.items():
            q.setlist(name, values)
        return q.urlencode()

    return {
        "projects": with_(stage=chosen_stages),
        "production": with_(stage=[Stage.PRODUCTION]),
        "high_risks": with_(level=["high", "critical"], status=["open", "mitigating", "accepted"]),
        "overdue_risks": with_(overdue=["true"]),
        "stages": [{**s, "query": with_(stage=[s["stage"]])} for s in stages],
    }


class DashboardView(RoleRequiredMixin, TemplateView):
    """The portfolio at a glance: tiles, charts, the projects behind them, and their exports."""

    allowed_roles = ALL_ROLES
    template_name = "governance/dashboard.html"

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export")
        if fmt is not None:
            return export_dashboard(request, fmt)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **dashboard_context(self.request)}


# --- exports ----------------------------------------------------------------------------------------


def export_tables(request, filterset) -> dict[str, tuple[list[str], object]]:
    """Each table behind the dashboard as (header, rows), for the same user and filters as the page."""
    projects = filtered(filterset)
    summary = portfolio_summary(
        user=request.user, projects=projects, filtered=is_filtered(filterset), as_of=as_of_of(filterset),
        counts=False, whole_teams=whole_teams(filterset),
    )  # fmt: skip
    rc = summary.currency.lower()

    def project_lines():
        rows = project_rows(projects, as_of=summary.as_of, rates=summary.fx_rates)
        for p in with_health_signals(rows).iterator(chunk_size=500):
            converted = p.fx_rate is not None
            health = _health_of(p)
            yield [
                p.slug, p.name, p.team.name, p.stage, p.risk_tier, p.currency,
                p.expected_annual_value, p.expected_investment, rate(p.fx_rate) if converted else "",
                money(p.annual_value_rc) if converted else "", money(p.investment_rc) if converted else "",
                p.risk_score, risk_level_label(p.risk_score), p.open_risk_count, money(p.actual_value),
                money(p.actual_cost), money(p.actual_value - p.actual_cost), money(p.planned_value),
                realised_vs_plan(p.actual_value, p.planned_value) if p.planned_value else "",
                health.label, "; ".join(health.reasons), request.build_absolute_uri(_project_url(p.slug)),
            ]  # fmt: skip

    project_header = [
        "slug", "name", "team", "stage", "tier", "currency", "expected_annual_value", "expected_investment",
        f"fx_rate_to_{rc}", f"expected_annual_value_{rc}", f"expected_investment_{rc}", "risk_score",
        "risk_level", "open_risks", f"actual_value_to_date_{rc}", f"actual_cost_to_date_{rc}",
        f"net_value_to_date_{rc}", f"planned_value_to_date_{rc}", "realised_vs_planned_pct", "health",
        "health_reasons", "url",
    ]  # fmt: skip
    month_keys = ["planned_value", "planned_cost", "actual_value", "actual_cost", "cumulative_planned_value",
                  "cumulative_planned_cost", "cumulative_actual_value", "cumulative_actual_cost"]  # fmt: skip
    quarter_keys = ["planned_value", "planned_cost", "planned_value_to_date", "planned_cost_to_date", "actual_value",
                    "actual_cost"]  # fmt: skip
    team_keys = ["projects", "annual_value", "investment", "actual_value", "actual_cost", "planned_value"]
    team_header = [
        "team", "slug", "projects", f"expected_annual_value_{rc}", f"expected_investment_{rc}",
        f"actual_value_to_date_{rc}", f"actual_cost_to_date_{rc}", f"planned_value_to_date_{rc}",
    ]  # fmt: skip

    def blank(value):
        return "" if value is None else value

    return {
        "projects": (project_header, project_lines()),
        "months": (
            ["month", *(f"{k}_{rc}" for k in month_keys)],
            ([m["month"].isoformat(), *(blank(m[k]) for k in month_keys)] for m in month_rows(summary)),
        ),
        "quarters": (
            ["quarter", *(f"{k}_{rc}" for k in quarter_keys), "partial", "future"],
            ([q["quarter"], *(money(q[k]) for k in quarter_keys), q["partial"], q["future"]] for q in summary.quarters),
        ),
        "teams": (
            team_header,
            ([t["team"], t["slug"], *(t[k] for k in team_keys)] for t in summary.teams),
        ),
        "stages": (["stage", "label", "projects"], ([s["stage"], s["label"], s["count"]] for s in summary.stages)),
    }


def export_dashboard(request, fmt: str) -> HttpResponse:
    """CSV: one table (?table=, projects by default); XLSX: every table, one sheet each. Under the list
    pages' rule: an unknown format, an unknown table or a filter that cannot be applied answers 400."""
    if fmt not in EXPORT_FORMATS:
        return bad_request(UNKNOWN_EXPORT.format(fmt=fmt, formats=", ".join(EXPORT_FORMATS)))
    filterset = dashboard_filterset(data=request.GET, request=request)
    if filterset.is_bound and not filterset.is_valid():
        return bad_request(INVALID_FILTER.format(errors=filter_errors_text(filterset)))
    tables = export_tables(request, filterset)
    if fmt == "xlsx":
        sheets = [(name.capitalize(), *tables[name]) for name in EXPORT_TABLES]
        return xlsx_response(filename=export_filename("portfolio", "xlsx"), sheets=sheets)
    table = request.GET.get("table") or "projects"
    if table not in tables:
        return bad_request(UNKNOWN_TABLE.format(table=table, tables=", ".join(EXPORT_TABLES)))
    header, rows = tables[table]
    return csv_response(filename=export_filename(f"portfolio-{table}", "csv"), header=header, rows=rows)
