"""GET /api/v1/portfolio/summary: the dashboard's figures as JSON, the same as the page's, scoped and
filtered the same way. The portfolio is the one of test_dashboard_figures (its docstring has the sums)."""

from __future__ import annotations

import pytest

from tests.api_errors import NOT_A_CHOICE, invalid_input
from tests.governance.test_dashboard_figures import m, portfolio  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/portfolio/summary"


def test_an_executive_gets_every_figure_of_the_page(client, executive, portfolio):  # noqa: F811
    client.force_login(executive)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["filtered"], body["as_of"]) == ("EUR", False, m(0).isoformat())
    assert body["as_of_in_progress"] is True
    assert body["attention"] == {
        "overdue_reviews": 0, "overdue_projects": 0, "value_decay": 0, "unowned_models": 0, "unmet_obligations": 0
    }  # fmt: skip
    assert body["kpis"] == {
        "projects": 2, "in_production": 1, "open_high_risks": 1, "open_critical_risks": 1, "open_findings": 2,
        "pending_signoffs": 0, "expected_annual_value": "350000.00", "expected_investment": "150000.00",
        "projects_without_fx_rate": 0, "in_production_without_signoff": 0,
        "compliance": {"met": 0, "required": 0, "stale": 0, "unmet": 0, "percent": None},
    }  # fmt: skip
    roi = body["roi"]
    assert (roi["realised_value"], roi["realised_cost"], roi["net_value"]) == ("27000.00", "14500.00", "12500.00")
    assert (roi["roi_pct"], roi["realised_vs_planned_pct"]) == ("86.21", "90.00")
    assert (roi["payback_month"], roi["actuals_through"]) == (m(-1).isoformat(), m(0).isoformat())
    assert [s["count"] for s in body["stages"]] == [1, 0, 0, 0, 1, 0]
    assert [row["month"] for row in body["months"]] == [m(k).isoformat() for k in (-2, -1, 0, 1)]
    assert [row["actual_value"] for row in body["months"]] == ["8000.00", "13000.00", "6000.00", None]
    assert [(t["slug"], t["actual_value"]) for t in body["teams"]] == [("claims", "25000.00"), ("marketing", "2000.00")]
    assert [(p["project"], p["risk_score"]) for p in body["matrix"]] == [("fraud-scoring", 20), ("churn-model", 9)]
    assert body["matrix"][0]["url"] == "http://testserver/api/v1/projects/fraud-scoring/"
    assert sum(float(q["actual_value"]) for q in body["quarters"]) == 27000


def test_the_same_filters_as_the_page(client, executive, portfolio):  # noqa: F811
    client.force_login(executive)
    body = client.get(URL, {"team": "marketing"}).json()
    assert body["filtered"] is True
    assert (body["kpis"]["projects"], body["roi"]["realised_value"], body["roi"]["roi_pct"]) == (1, "2000.00", "300.00")
    by_stage = client.get(URL + "?stage=production&stage=idea").json()
    assert by_stage["roi"]["realised_value"] == "27000.00"
    page = client.get("/governance/dashboard/", {"team": "marketing"}).context["summary"]
    assert body["roi"]["realised_value"] == str(page.figures.cumulative_value)


def test_a_team_lead_gets_their_teams_figures_and_cannot_name_another_team(client, team_lead, portfolio):  # noqa: F811
    client.force_login(team_lead)
    body = client.get(URL).json()
    assert (body["kpis"]["projects"], body["roi"]["realised_value"], body["roi"]["roi_pct"]) == (1, "25000.00", "78.57")
    assert [t["slug"] for t in body["teams"]] == ["claims"]
    assert body["kpis"]["open_findings"] == 1
    refused = client.get(URL, {"team": "marketing"})
    assert refused.status_code == 400
    assert refused.json() == invalid_input("team", NOT_A_CHOICE)


def test_a_bad_stage_is_refused_clearly(client, executive, portfolio):  # noqa: F811
    client.force_login(executive)
    response = client.get(URL, {"stage": "launched"})
    assert response.status_code == 400
    assert response.json() == invalid_input(
        "stage", "Select a valid choice. launched is not one of the available choices."
    )


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("no_role_user", 403), ("risk_officer", 200)])
def test_who_may_read_it(client, request, who, status):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == status
