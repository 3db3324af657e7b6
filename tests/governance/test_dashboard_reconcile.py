"""The dashboard's figures reconcile: the tiles equal the sums of the project table's rows for the same
filters and as-of month; one as-of month (?as_of=YYYY-MM) rules the page, its exports and the API; a month
or quarter in progress is compared with its plan to date, never with its whole plan.

On top of test_dashboard_figures' portfolio (Fraud scoring, Churn model), Claims triage (Claims, EUR) plans
5,000 of value in m-1 and in m0 and logs no actual: its m-1 plan is a shortfall (the month is over), its m0
plan does not count yet (m0 is in progress and it has logged nothing for it), while Fraud scoring logged an
actual for m0, so its m0 plan of 10,000 counts.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from governance.dashboard import selectors as dashboard
from governance.dashboard.filters import AS_OF_IN_FUTURE
from governance.dashboard.to_date import realised_vs_plan
from projects.models import AIProject, RoiBasis, RoiCategory, RoiKind
from tests.exports import csv_dicts
from tests.factories import AIProjectFactory
from tests.governance.test_dashboard_figures import log, m, portfolio  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

D = Decimal
PAGE = "/governance/dashboard/"
API = "/api/v1/portfolio/summary"


@pytest.fixture
def with_triage(portfolio, team, team_lead):  # noqa: F811
    triage = AIProjectFactory(name="Claims triage", team=team, owner=team_lead)
    for month in (m(-1), m(0)):
        log(triage, month, RoiKind.VALUE, RoiCategory.COST_SAVING, RoiBasis.PLANNED, "5000")
    return (*portfolio, triage)


def page_context(client, params):
    response = client.get(PAGE, params)
    assert response.status_code == 200
    return response.context


FILTERS = [{}, {"team": "claims"}, {"team": "marketing"}, {"stage": "production"}, {"stage": ["idea", "production"]}]
AS_OF = [None, -1, -2, -3]


@pytest.mark.parametrize("offset", AS_OF)
@pytest.mark.parametrize("filters", FILTERS)
def test_the_tiles_equal_the_sums_of_the_table_rows(client, executive, with_triage, filters, offset):
    client.force_login(executive)
    params = {**filters, **({"as_of": f"{m(offset):%Y-%m}"} if offset is not None else {})}
    ctx = page_context(client, params)
    summary, rows, f = ctx["summary"], list(ctx["rows"]), ctx["summary"].figures
    assert ctx["page_obj"].paginator.num_pages == 1  # every row is on the page
    assert summary.as_of == (m(offset) if offset is not None else m(0))

    actual = sum((r.actual_value for r in rows), D(0))
    cost = sum((r.actual_cost for r in rows), D(0))
    planned = sum((r.planned_value for r in rows), D(0))
    assert (f.cumulative_value, f.cumulative_cost, f.planned_value_to_date) == (actual, cost, planned)
    assert len(rows) == summary.project_count
    if f.actuals_through is not None:
        assert f.realised_vs_planned_pct == realised_vs_plan(actual, planned)
    # The teams' rows add up too, and the quarters' actuals and plan to date.
    assert sum((t["actual_value"] for t in summary.teams), D(0)) == actual
    assert sum((t["planned_value"] for t in summary.teams), D(0)) == planned
    assert sum((q["actual_value"] for q in summary.quarters), D(0)) == actual
    assert sum((q["planned_value_to_date"] for q in summary.quarters), D(0)) == planned


def test_the_plan_to_date_counts_an_unreported_month_in_progress_only_once_it_is_reported(executive, with_triage):
    # with_triage: Fraud scoring, Churn model, Claims triage.
    projects = AIProject.objects.all()
    rows = {p.slug: p for p in dashboard.project_rows(projects, as_of=m(0))}
    # m0 is in progress: Fraud scoring reported it (10,000 × 3 months), Claims triage did not (only m-1 counts).
    assert (rows["fraud-scoring"].planned_value, rows["claims-triage"].planned_value) == (D(30000), D(5000))
    s = dashboard.portfolio_summary(user=executive, projects=projects, filtered=False)
    assert s.as_of_in_progress
    assert (s.figures.planned_value_to_date, s.figures.realised_vs_planned_pct) == (D("35000.00"), D("77.14"))

    # Once m0 is over (seen from m+1), every plan up to m0 counts: a month without an actual is a shortfall.
    later = dashboard.portfolio_summary(user=executive, projects=projects, filtered=False, as_of=m(0), today=m(1))
    assert not later.as_of_in_progress
    assert later.figures.planned_value_to_date == D("40000.00")
    assert {p.slug: p.planned_value for p in dashboard.project_rows(projects, as_of=m(0), today=m(1))}[
        "claims-triage"
    ] == D(10000)


def test_a_quarter_in_progress_is_marked_and_compared_with_its_plan_to_date(executive, with_triage):
    s = dashboard.portfolio_summary(user=executive, projects=AIProject.objects.all(), filtered=False)
    here = dashboard.quarter_of(m(0))
    quarter = next(q for q in s.quarters if q["quarter"] == here)
    assert (quarter["partial"], quarter["future"]) == (True, False)
    assert quarter["label"] == f"{here} to date"
    # Plan to date per month: m-2 10,000 (Fraud); m-1 15,000 (Fraud and triage); m0 10,000 (Fraud reported it).
    to_date = {m(-2): D(10000), m(-1): D(15000), m(0): D(10000)}
    assert quarter["planned_value_to_date"] == sum(v for k, v in to_date.items() if dashboard.quarter_of(k) == here)
    # Its whole plan adds triage's unreported m0 (and m+1 if it falls in the same quarter).
    whole = {m(-2): 10000, m(-1): 15000, m(0): 15000, m(1): 10000}
    assert quarter["planned_value"] == sum(D(v) for k, v in whole.items() if dashboard.quarter_of(k) == here)
    for q in s.quarters:
        assert q["future"] == (q["quarter"] > here)
        assert q["partial"] == (q["quarter"] == here)


def test_a_past_as_of_month_closes_its_quarter_only_at_the_quarters_end(executive, with_triage):
    s = dashboard.portfolio_summary(user=executive, projects=AIProject.objects.all(), filtered=False, as_of=m(-1))
    here = dashboard.quarter_of(m(-1))
    quarter = next(q for q in s.quarters if q["quarter"] == here)
    assert quarter["partial"] == (m(-1).month % 3 != 0)
    if quarter["partial"]:
        assert quarter["label"] == f"{here} to {m(-1):%b}"
    assert s.figures.actuals_through == m(-1)


def test_the_page_states_the_as_of_month_once(client, executive, with_triage):
    client.force_login(executive)
    html = client.get(PAGE).content.decode()
    assert html.count('id="as-of"') == 1
    assert f"{m(0):%B} is in progress" in html
    assert "through " not in html.split('id="tile-value"')[1].split("</li>")[0]  # the tile names no month of its own
    html = client.get(PAGE, {"as_of": f"{m(-1):%Y-%m}"}).content.decode()
    assert f"Figures to the end of {m(-1):%B %Y}" in html


@pytest.mark.parametrize(
    ("value", "message"),
    [("2026-13", "Give the month as YYYY-MM (e.g. 2026-11)."), ("soon", "Give the month as YYYY-MM (e.g. 2026-11)."),
     ("future", None), ("1999-12", "Choose a month from 2000-01 on.")],
)  # fmt: skip
def test_a_bad_as_of_is_refused_clearly_everywhere(client, executive, with_triage, value, message):
    if value == "future":
        value, message = f"{m(1):%Y-%m}", AS_OF_IN_FUTURE.format(month=f"{m(0):%Y-%m}")
    client.force_login(executive)
    page = client.get(PAGE, {"as_of": value})
    assert page.status_code == 200
    assert message in page.content.decode()
    assert list(page.context["rows"]) == []  # an invalid filter shows nothing rather than everything
    api = client.get(API, {"as_of": value})
    assert api.status_code == 400
    assert api.json()["as_of"] == [message]
    export = client.get(PAGE, {"as_of": value, "export": "csv"})
    assert export.status_code == 400
    assert message in export.content.decode()


def test_the_api_and_the_exports_follow_the_as_of_month(client, executive, with_triage):
    client.force_login(executive)
    body = client.get(API, {"as_of": f"{m(-1):%Y-%m}"}).json()
    assert (body["as_of"], body["as_of_in_progress"]) == (m(-1).isoformat(), False)
    # m-1: actual 8,000 + 11,000 (Fraud) + 2,000 (Churn, USD 4,000 at 0.5); plan 20,000 (Fraud) + 5,000 (triage).
    assert (body["roi"]["realised_value"], body["roi"]["planned_value_to_date"]) == ("21000.00", "25000.00")
    assert body["roi"]["realised_vs_planned_pct"] == "84.00"
    rows = {r["slug"]: r for r in csv_dicts(client.get(PAGE, {"as_of": f"{m(-1):%Y-%m}", "export": "csv"}))}
    fraud = rows["fraud-scoring"]
    assert (fraud["actual_value_to_date_eur"], fraud["planned_value_to_date_eur"]) == ("19000.00", "20000.00")
    assert fraud["realised_vs_planned_pct"] == "95.00"


@pytest.mark.parametrize(("count", "pages"), [(26, 1), (60, 1), (61, 2)])
def test_the_project_table_never_leaves_a_few_projects_alone_on_a_last_page(client, executive, team, count, pages):
    AIProjectFactory.create_batch(count, team=team)
    client.force_login(executive)
    page = client.get(PAGE).context["page_obj"]
    assert page.paginator.num_pages == pages
    assert len(page.object_list) == (count if pages == 1 else 50)
