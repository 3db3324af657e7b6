"""The tier filters offer "Not assessed" (a project whose assessment is missing or incomplete has no tier):
on the project list, the dashboard (page and summary API) and the risk register, alone or with tiers."""

from __future__ import annotations

import pytest

from core.roles import Role
from projects.models import AIProject, RiskTier
from tests.factories import AIProjectFactory, make_user
from tests.risk_factories import RiskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio():
    # risk_tier is the tier assessment's to set (not editable through the project services).
    assessed = AIProjectFactory(name="Assessed high")
    minimal = AIProjectFactory(name="Assessed minimal")
    unassessed = AIProjectFactory(name="Never assessed")
    AIProject.objects.filter(pk=assessed.pk).update(risk_tier=RiskTier.HIGH)
    AIProject.objects.filter(pk=minimal.pk).update(risk_tier=RiskTier.MINIMAL)
    return assessed, minimal, unassessed


@pytest.fixture
def exec_client(client):
    client.force_login(make_user("erin", Role.EXECUTIVE))
    return client


def test_project_list_filters_not_assessed_alone_and_with_a_tier(exec_client, portfolio):
    assessed, _minimal, unassessed = portfolio
    page = exec_client.get("/projects/", {"tier": "not_assessed"})
    assert page.status_code == 200
    names = {p.name for p in page.context["page_obj"].object_list}
    assert names == {unassessed.name}
    page = exec_client.get("/projects/", {"tier": ["not_assessed", "high"]})
    assert {p.name for p in page.context["page_obj"].object_list} == {unassessed.name, assessed.name}


def test_dashboard_and_summary_count_the_not_assessed_projects(exec_client, portfolio):
    page = exec_client.get("/governance/dashboard/", {"tier": "not_assessed"})
    assert page.status_code == 200
    assert [r.name for r in page.context["page_obj"].object_list] == ["Never assessed"]
    api = exec_client.get("/api/v1/portfolio/summary", {"tier": "not_assessed"})
    assert api.status_code == 200, api.content


def test_risk_register_filters_risks_of_not_assessed_projects(client, portfolio):
    _assessed, _minimal, _unassessed = portfolio
    client.force_login(make_user("ravi", Role.RISK_OFFICER))
    for project in portfolio:
        RiskFactory(project=project, title=f"Risk of {project.name}")
    page = client.get("/governance/risks/", {"tier": "not_assessed"})
    assert page.status_code == 200
    assert {r.title for r in page.context["page_obj"].object_list} == {"Risk of Never assessed"}


def test_an_unknown_tier_is_still_refused(exec_client, portfolio):
    page = exec_client.get("/projects/", {"tier": "unknown"})
    assert page.status_code == 200
    assert list(page.context["page_obj"].object_list) == []
    assert "tier" in page.context["filter"].errors
