"""The executive dashboard's tiles and figures against values computed by hand, its filters (which
apply to every tile and chart), its scoping (a team lead counts only their teams), and its exports.

The portfolio, in the reporting currency EUR (months relative to this month, m0):

  Fraud scoring (Claims, production, EUR): business case 250,000 / yr for 100,000.
      m-2  planned value 10,000, planned cost 10,000, actual value  8,000, actual cost 12,000
      m-1  planned value 10,000,                      actual value 11,000, actual cost  2,000
      m0   planned value 10,000,                      actual value  6,000
      m+1  planned value 10,000 (the future: planned only)
  Churn model (Marketing, idea, USD at 0.5 EUR): business case 200,000 USD / yr for 100,000 USD.
      m-1                                             actual value  4,000 USD, actual cost 1,000 USD

So for everyone who reads everything: value 8,000 + 11,000 + 6,000 + 2,000 = 27,000; cost 12,000 +
2,000 + 500 = 14,500; net 12,500; ROI 12,500 / 14,500 = 86.21 %; planned value to date 30,000, so
90.00 % realised; cumulative net at m-2 is -4,000 and at m-1 +6,500: paid back in m-1.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone
from openpyxl import load_workbook

from core.lists import filtered
from governance.dashboard import filters as dashboard_filters
from governance.dashboard import selectors as dashboard
from governance.models import Finding, FindingKind, Risk, RiskStatus, Severity
from projects.models import AIProject, RoiBasis, RoiCategory, RoiKind, Stage
from projects.roi import services as roi_services
from projects.roi.figures import add_months, month_start
from tests.exports import csv_dicts
from tests.factories import AIProjectFactory
from tests.risk_factories import RiskFactory

pytestmark = pytest.mark.django_db

D = Decimal
M0 = month_start(timezone.localdate())


def m(offset: int) -> dt.date:
    return add_months(M0, offset)


def money_tile(amount: str) -> str:
    """A money tile's value as the page writes it: the currency kept with its amount (no wrap between)."""
    return f'<span class="tile-value"><span class="money"><span class="cur">EUR</span>&nbsp;{amount}</span></span>'


def log(project, month, kind, category, basis, amount, currency=""):
    return roi_services.roi_entry_create(
        by=None, project=project, month=month, kind=kind, category=category, basis=basis, amount=D(amount),
        currency=currency, logged_by=project.owner,
    )  # fmt: skip


@pytest.fixture
def portfolio(team, other_team, team_lead, other_lead):
    fraud = AIProjectFactory(name="Fraud scoring", team=team, owner=team_lead, stage=Stage.DEVELOPMENT,
                             expected_annual_value=D("250000"), expected_investment=D("100000"))  # fmt: skip
    churn = AIProjectFactory(name="Churn model", team=other_team, owner=other_lead, currency="USD",
                             expected_annual_value=D("200000"), expected_investment=D("100000"))  # fmt: skip
    # Production is reached through guarded transitions (validation, sign-off); the figures only need the stage.
    AIProject.objects.filter(pk=fraud.pk).update(stage=Stage.PRODUCTION)
    for month in (m(-2), m(-1), m(0)):
        roi_services.fx_rate_set(by=None, currency="USD", month=month, rate=D("0.5"))
    value, cost = RoiKind.VALUE, RoiKind.COST
    planned, actual = RoiBasis.PLANNED, RoiBasis.ACTUAL
    for month in (m(-2), m(-1), m(0), m(1)):
        log(fraud, month, value, RoiCategory.COST_SAVING, planned, "10000")
    log(fraud, m(-2), cost, RoiCategory.PEOPLE, planned, "10000")
    log(fraud, m(-2), value, RoiCategory.COST_SAVING, actual, "8000")
    log(fraud, m(-2), cost, RoiCategory.PEOPLE, actual, "12000")
    log(fraud, m(-1), value, RoiCategory.COST_SAVING, actual, "11000")
    log(fraud, m(-1), cost, RoiCategory.COMPUTE, actual, "2000")
    log(fraud, m(0), value, RoiCategory.REVENUE_UPLIFT, actual, "6000")
    log(churn, m(-1), value, RoiCategory.REVENUE_UPLIFT, actual, "4000", currency="USD")
    log(churn, m(-1), cost, RoiCategory.COMPUTE, actual, "1000", currency="USD")

    # Risks: on Fraud scoring one high (4 × 4) and one critical (5 × 4) open, one high closed; a medium on Churn.
    RiskFactory(project=fraud, title="Drift", likelihood=4, impact=4)
    RiskFactory(project=fraud, title="Unfair denials", likelihood=5, impact=4)
    closed = RiskFactory(project=fraud, title="Old leak", likelihood=4, impact=4)
    Risk.objects.filter(pk=closed.pk).update(status=RiskStatus.CLOSED)
    RiskFactory(project=churn, title="Churn leak", likelihood=3, impact=3)

    # Findings: one open on Fraud scoring, one resolved there, one open about no project at all.
    def finding(n, project, resolved=False):
        return Finding.objects.create(
            kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.HIGH, title=f"Finding {n}",
            subject_type="governance.risk", subject_id=str(n), project=project,
            resolved_at=timezone.now() if resolved else None,
        )  # fmt: skip

    finding(1, fraud)
    finding(2, fraud, resolved=True)
    finding(3, None)
    return fraud, churn


class Req:
    """The bits of a request the filterset reads (the user scopes the team choices)."""

    def __init__(self, user):
        self.user = user


def _qd(**params) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def summary_for(user, **params):
    filterset = dashboard_filters.dashboard_filterset(data=_qd(**params), request=Req(user))
    projects = filtered(filterset)
    return dashboard.portfolio_summary(user=user, projects=projects, filtered=dashboard_filters.is_filtered(filterset))


def test_every_tile_for_an_executive_matches_the_hand_computed_figures(executive, portfolio):
    s = summary_for(executive)
    f = s.figures
    assert s.currency == "EUR"
    assert s.project_count == 2
    assert [(row["stage"], row["count"]) for row in s.stages] == [
        ("idea", 1), ("design", 0), ("development", 0), ("validation", 0), ("production", 1), ("retired", 0),
    ]  # fmt: skip
    assert s.in_production == 1
    assert (f.cumulative_value, f.cumulative_cost, f.net_value) == (D("27000.00"), D("14500.00"), D("12500.00"))
    assert f.roi_pct == D("86.21")
    assert (f.planned_value_to_date, f.planned_cost_to_date) == (D("30000.00"), D("10000.00"))
    assert f.realised_vs_planned_pct == D("90.00")
    assert f.payback_month == m(-1)
    assert f.actuals_through == m(0)
    # NPV at 8 % a year, discounted monthly from the first month: -4,000 + 10,500 / 1.08^(1/12) + 6,000 / 1.08^(2/12).
    npv = -4000 + 10500 / 1.08 ** (1 / 12) + 6000 / 1.08 ** (2 / 12)
    assert f.npv == D(f"{npv:.2f}")
    # The business cases: 250,000 EUR + 200,000 USD at 0.5; 100,000 EUR + 100,000 USD at 0.5.
    assert (s.annual_value, s.investment, s.unconverted_projects) == (D("350000.00"), D("150000.00"), 0)
    assert (s.open_high_risks, s.open_critical_risks) == (1, 1)
    assert s.open_findings == 2  # Fraud scoring's open one and the one about no project
    assert s.pending_signoffs == 0


def test_the_monthly_series_quarters_and_teams_add_up_to_the_tiles(executive, portfolio):
    s = summary_for(executive)
    rows = dashboard.month_rows(s)
    assert [r["month"] for r in rows] == [m(-2), m(-1), m(0), m(1)]
    assert [r["actual_value"] for r in rows] == [D("8000.00"), D("13000.00"), D("6000.00"), None]
    assert [r["cumulative_actual_cost"] for r in rows] == [D("12000.00"), D("14500.00"), D("14500.00"), None]
    assert [r["cumulative_planned_value"] for r in rows] == [D(n) for n in ("10000", "20000", "30000", "40000")]
    assert sum(q["actual_value"] for q in s.quarters) == D("27000.00")
    assert sum(q["planned_value"] for q in s.quarters) == D("40000.00")
    assert [q["quarter"] for q in s.quarters] == sorted({dashboard.quarter_of(m(k)) for k in (-2, -1, 0, 1)})
    teams = {t["team"]: t for t in s.teams}
    assert (teams["Claims"]["actual_value"], teams["Claims"]["actual_cost"]) == (D("25000.00"), D("14000.00"))
    assert (teams["Marketing"]["actual_value"], teams["Marketing"]["actual_cost"]) == (D("2000.00"), D("500.00"))
    assert (teams["Claims"]["annual_value"], teams["Marketing"]["annual_value"]) == (D("250000.00"), D("100000.00"))
    assert [t["team"] for t in s.teams] == ["Claims", "Marketing"]  # most value realised first


def test_a_team_lead_counts_only_their_own_teams_projects(team_lead, portfolio):
    s = summary_for(team_lead)
    f = s.figures
    assert s.project_count == 1
    assert (f.cumulative_value, f.cumulative_cost, f.net_value) == (D("25000.00"), D("14000.00"), D("11000.00"))
    assert f.roi_pct == D("78.57")
    assert (s.open_high_risks, s.open_critical_risks) == (1, 1)
    assert s.open_findings == 1  # a finding about no project is not a team lead's
    assert [t["team"] for t in s.teams] == ["Claims"]


def test_the_team_filter_applies_to_every_figure(executive, portfolio):
    s = summary_for(executive, team="marketing")
    f = s.figures
    assert s.filtered
    assert s.project_count == 1
    assert [row["count"] for row in s.stages] == [1, 0, 0, 0, 0, 0]
    assert (f.cumulative_value, f.cumulative_cost, f.roi_pct) == (D("2000.00"), D("500.00"), D("300.00"))
    assert f.realised_vs_planned_pct is None  # nothing was planned for Churn model
    assert (s.open_high_risks, s.open_critical_risks, s.open_findings) == (0, 0, 0)
    assert (s.annual_value, s.investment) == (D("100000.00"), D("50000.00"))
    assert [t["team"] for t in s.teams] == ["Marketing"]


def test_the_stage_and_tier_filters_apply_too(executive, portfolio):
    production = summary_for(executive, stage="production")
    assert (production.project_count, production.figures.cumulative_value) == (1, D("25000.00"))
    both = summary_for(executive, stage=["production", "idea"])
    assert both.figures.cumulative_value == D("27000.00")
    high_tier = summary_for(executive, tier="high")  # neither project has been assessed
    assert (high_tier.project_count, high_tier.figures.cumulative_value, high_tier.open_findings) == (0, D("0"), 0)
    assert high_tier.figures.roi_pct is None


def test_a_team_lead_cannot_filter_by_another_team(team_lead, portfolio):
    filterset = dashboard_filters.dashboard_filterset(data=_qd(team="marketing"), request=Req(team_lead))
    assert not filterset.is_valid()
    assert list(filtered(filterset)) == []


def test_an_empty_portfolio_shows_zeros_and_no_ratios(executive):
    s = summary_for(executive)
    f = s.figures
    assert s.project_count == 0
    assert (f.cumulative_value, f.cumulative_cost, f.roi_pct, f.payback_month) == (D("0"), D("0"), None, None)
    assert f.actuals_through is None
    assert (s.months, s.quarters, s.teams) == ([], [], [])


def test_a_project_without_an_fx_rate_is_counted_but_kept_out_of_the_money(executive, team, team_lead):
    AIProjectFactory(name="Yen pricing", team=team, owner=team_lead, currency="JPY")
    s = summary_for(executive)
    assert (s.project_count, s.unconverted_projects, s.annual_value) == (1, 1, D("0"))
    assert dashboard.matrix_points(AIProject.objects.all(), as_of=s.as_of) == []


def test_matrix_points_carry_risk_value_and_investment(executive, portfolio):
    points = dashboard.matrix_points(AIProject.objects.all(), as_of=M0)
    assert [(p["slug"], p["risk_score"], p["risk_level"], p["open_risks"]) for p in points] == [
        ("fraud-scoring", 20, "Critical", 2),  # the closed 16 does not count; the open 20 is the highest
        ("churn-model", 9, "Medium", 1),
    ]
    assert [(p["annual_value"], p["investment"], p["actual_value"]) for p in points] == [
        (D("250000.00"), D("100000.00"), D("25000.00")),
        (D("100000.00"), D("50000.00"), D("2000.00")),
    ]


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_shows_the_tiles_and_links_each_project(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["summary"].figures.roi_pct == D("86.21")
    assert money_tile("27,000") in html
    assert money_tile("14,500") in html
    assert '<span class="tile-value">86.2 %</span>' in html
    assert "90 % of the EUR&nbsp;30,000 planned to date" in html
    assert '<a href="/projects/fraud-scoring/">Fraud scoring</a>' in html
    for chart in ("matrix", "cumulative", "quarters", "funnel", "teams"):
        assert f'data-chart="chart-{chart}-data"' in html
        assert f'id="chart-{chart}-data"' in html
    matrix = response.context["charts"]["matrix"]
    urls = [point[0] for trace in matrix["data"] if trace.get("customdata") for point in trace["customdata"]]
    assert sorted(urls) == ["/projects/churn-model/", "/projects/fraud-scoring/"]


def test_the_page_filters_every_tile_by_team(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/dashboard/", {"team": "claims"})
    html = response.content.decode()
    assert money_tile("25,000") in html
    assert "Churn model" not in html.split('id="dashboard-projects"')[1]
    teams = response.context["charts"]["teams"]["data"][0]
    assert list(teams["y"]) == ["Claims"]


def test_a_bad_filter_shows_its_error_and_no_figures(client, team_lead, portfolio):
    client.force_login(team_lead)
    response = client.get("/governance/dashboard/", {"team": "marketing"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert response.context["summary"].project_count == 0


def test_the_executives_home_page_is_the_dashboard(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "governance/dashboard.html"
    assert response.context["summary"].figures.cumulative_value == D("27000.00")


# --- exports ----------------------------------------------------------------------------------------


def test_csv_export_of_the_projects_table(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/dashboard/", {"export": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_dicts(response)
    assert [r["slug"] for r in rows] == ["fraud-scoring", "churn-model"]
    fraud, churn = rows
    assert (fraud["actual_value_to_date_eur"], fraud["actual_cost_to_date_eur"]) == ("25000.00", "14000.00")
    assert (fraud["net_value_to_date_eur"], fraud["realised_vs_planned_pct"]) == ("11000.00", "83.33")
    assert (fraud["risk_score"], fraud["risk_level"], fraud["open_risks"]) == ("20", "Critical", "2")
    assert (churn["currency"], churn["expected_annual_value_eur"], churn["fx_rate_to_eur"]) == (
        "USD", "100000.00", "0.50000000",
    )  # fmt: skip
    assert fraud["url"] == "http://testserver/projects/fraud-scoring/"


def test_csv_export_of_each_table_follows_the_filters(client, executive, portfolio):
    client.force_login(executive)
    months = csv_dicts(client.get("/governance/dashboard/", {"export": "csv", "table": "months", "team": "claims"}))
    assert [r["month"] for r in months] == [m(k).isoformat() for k in (-2, -1, 0, 1)]
    assert [r["actual_value_eur"] for r in months] == ["8000.00", "11000.00", "6000.00", ""]
    teams = csv_dicts(client.get("/governance/dashboard/", {"export": "csv", "table": "teams"}))
    assert [(r["team"], r["actual_value_to_date_eur"]) for r in teams] == [("Claims", "25000.00"),
                                                                           ("Marketing", "2000.00")]  # fmt: skip
    stages = csv_dicts(client.get("/governance/dashboard/", {"export": "csv", "table": "stages"}))
    assert {r["stage"]: r["projects"] for r in stages}["production"] == "1"
    bad = client.get("/governance/dashboard/", {"export": "csv", "table": "nope"})
    assert bad.status_code == 400


def test_csv_and_xlsx_exports_neutralise_formulas(client, executive, team, team_lead):
    AIProjectFactory(name="=HYPERLINK(1)", team=team, owner=team_lead)
    client.force_login(executive)
    rows = csv_dicts(client.get("/governance/dashboard/", {"export": "csv"}))
    assert rows[0]["name"] == "'=HYPERLINK(1)"
    book = load_workbook(io.BytesIO(client.get("/governance/dashboard/", {"export": "xlsx"}).content))
    assert book["Projects"]["B2"].value == "'=HYPERLINK(1)"


def test_xlsx_export_holds_every_table_for_the_users_scope(client, team_lead, portfolio):
    client.force_login(team_lead)
    response = client.get("/governance/dashboard/", {"export": "xlsx"})
    assert response["Content-Type"] == dashboard_xlsx_type()
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Projects", "Months", "Quarters", "Teams", "Stages"]
    projects = list(book["Projects"].values)
    assert [row[0] for row in projects[1:]] == ["fraud-scoring"]  # the other team's project is not theirs
    header = projects[0]
    assert projects[1][header.index("actual_value_to_date_eur")] == 25000  # a number the spreadsheet can add up
    teams = list(book["Teams"].values)
    assert [row[0] for row in teams[1:]] == ["Claims"]


def dashboard_xlsx_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_nobody_without_a_role_reads_the_dashboard(client, no_role_user, portfolio):
    client.force_login(no_role_user)
    assert client.get("/governance/dashboard/").status_code == 403
    assert client.get("/governance/dashboard/", {"export": "csv"}).status_code == 403


def test_findings_about_no_project_count_only_while_no_filter_narrows_the_portfolio(risk_officer, portfolio):
    assert summary_for(risk_officer).open_findings == 2
    assert summary_for(risk_officer, team="claims").open_findings == 1


def test_pending_signoffs_count_the_requests_awaiting_a_decision(executive, team_lead, portfolio):
    from tests.signoff_factories import assess, linked_version, pending_request

    fraud, _churn = portfolio
    assess(fraud, "minimal")
    pending_request(linked_version(fraud), by=team_lead)
    assert summary_for(executive).pending_signoffs == 1
    assert summary_for(executive, team="marketing").pending_signoffs == 0
    assert summary_for(team_lead).pending_signoffs == 1
