"""The dashboard's compliance tile and chart: obligations met / required over the (filtered) portfolio."""

from __future__ import annotations

import pytest

from governance.models import Obligation
from tests.factories import AIProjectFactory

pytestmark = pytest.mark.django_db


def obligation(project, rule_id, status):
    return Obligation.objects.create(project=project, rule_id=rule_id, status=status, facts_hash="x" * 64)


def test_the_tile_and_chart_count_obligations_per_team_and_follow_the_filters(client, executive, team, other_team):
    claims = AIProjectFactory(team=team, name="Claims triage")
    churn = AIProjectFactory(team=other_team, name="Churn model")
    obligation(claims, "GDPR-6-LEGAL-BASIS", "met")
    obligation(claims, "GDPR-35-DPIA", "stale")
    obligation(claims, "AIA-10-DATA", "unmet")
    obligation(claims, "AIA-14-OVERSIGHT", "not_applicable")
    obligation(churn, "GDPR-6-LEGAL-BASIS", "met")
    client.force_login(executive)

    response = client.get("/governance/dashboard/")
    summary = response.context["summary"]
    assert (summary.compliance["met"], summary.compliance["required"], summary.compliance["percent"]) == (2, 4, 50)
    html = response.content.decode()
    assert "2 of 4 obligations met, 1 stale" in html
    chart = response.context["charts"]["compliance"]
    by_name = {trace["name"]: dict(zip(trace["y"], trace["x"], strict=True)) for trace in chart["data"]}
    assert by_name == {
        "Met": {team.name: 1, other_team.name: 1},
        "Stale": {team.name: 1, other_team.name: 0},
        "Unmet": {team.name: 1, other_team.name: 0},
    }

    filtered = client.get("/governance/dashboard/", {"team": other_team.slug}).context["summary"]
    assert (filtered.compliance["met"], filtered.compliance["required"]) == (1, 1)


def test_without_obligations_the_tile_and_chart_say_none_applies(client, executive, team):
    AIProjectFactory(team=team)
    client.force_login(executive)
    response = client.get("/governance/dashboard/")
    assert "compliance" not in response.context["charts"]
    assert "no obligation applies yet" in response.content.decode()
    api = client.get("/api/v1/portfolio/summary").json()["kpis"]["compliance"]
    assert api == {"met": 0, "required": 0, "stale": 0, "unmet": 0, "percent": None}
