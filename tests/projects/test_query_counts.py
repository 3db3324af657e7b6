"""Lists cost a fixed number of queries however many rows they show (no N+1).

Each list is fetched at two data sizes; the counts must be equal and within a small budget. The
budgets are the counts measured today; a list that needs more has grown a query per row or a new
fixed cost, and either deserves a look before the budget is raised.
"""

from __future__ import annotations

import datetime as dt

import pytest

from projects.inventory import services
from projects.models import SyncRun, SyncStatus, Team
from tests.factories import AIProjectFactory, TeamFactory, UserFactory
from tests.query_counts import QueryCount, assert_queries, csv_line_count, get_counting_queries
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold

SMALL, LARGE = 1, 50


def add_projects(n: int, team: Team) -> None:
    """n projects in `team`, each with its own owner and sponsor, so every related row is distinct."""
    for _ in range(n):
        AIProjectFactory(team=team, owner=UserFactory(), executive_sponsor=UserFactory())


def add_teams(n: int, lead) -> None:
    """n teams led by `lead`, each with two members and one project."""
    for _ in range(n):
        team = TeamFactory(lead=lead, members=[UserFactory(), UserFactory()])
        AIProjectFactory(team=team, owner=lead)


def queries_for(client, url: str, expect_rows: int, rows_of) -> QueryCount:
    queries, response = get_counting_queries(client, url)
    assert rows_of(response) == expect_rows
    return queries


def page_projects(response):
    return len(response.context["projects"])


def api_results(response):
    return len(response.json()["results"])


def page_events(response):
    return len(response.context["events"])


# url, rows shown for n items (pages cap at their page size), how to count the rows, budget
PROJECT_LISTS = [
    ("/projects/", lambda n: min(n, 25), page_projects, 7),
    ("/projects/?export=csv", lambda n: n, csv_line_count, 4),
    ("/api/v1/projects/", lambda n: n, api_results, 5),
]


@pytest.mark.parametrize(("url", "rows", "rows_of", "budget"), PROJECT_LISTS, ids=[r[0] for r in PROJECT_LISTS])
def test_project_lists_cost_the_same_queries_for_one_or_fifty_projects_for_an_executive(
    client, executive, team, url, rows, rows_of, budget
):
    client.force_login(executive)
    add_projects(SMALL, team)
    small = queries_for(client, url, rows(SMALL), rows_of)
    add_projects(LARGE - SMALL, TeamFactory())
    large = queries_for(client, url, rows(LARGE), rows_of)
    assert_queries(small, large, equal=budget, what=url)


@pytest.mark.parametrize(("url", "rows", "rows_of", "budget"), PROJECT_LISTS, ids=[r[0] for r in PROJECT_LISTS])
def test_project_lists_cost_the_same_queries_for_one_or_fifty_projects_for_a_team_lead(
    client, team_lead, team, other_project, url, rows, rows_of, budget
):
    client.force_login(team_lead)
    add_projects(SMALL, team)
    small = queries_for(client, url, rows(SMALL), rows_of)
    add_projects(LARGE - SMALL, team)
    large = queries_for(client, url, rows(LARGE), rows_of)
    # A team lead's scope costs one more query (the teams they lead and those they belong to).
    assert_queries(small, large, equal=budget + 1, what=url)


TEAM_LISTS = [("executive", 6), ("team_lead", 7), ("admin_user", 6)]


@pytest.mark.parametrize(("user_fixture", "budget"), TEAM_LISTS)
def test_team_api_list_costs_the_same_queries_for_one_or_fifty_teams(client, request, team_lead, user_fixture, budget):
    client.force_login(request.getfixturevalue(user_fixture))
    add_teams(SMALL, team_lead)
    small = queries_for(client, "/api/v1/teams/", SMALL, api_results)
    add_teams(LARGE - SMALL, team_lead)
    large = queries_for(client, "/api/v1/teams/", LARGE, api_results)
    assert_queries(small, large, equal=budget, what="/api/v1/teams/")


# url, page size, how to count the rows, budget
AUDIT_LISTS = [
    # The audit page: its rows, their subjects named in the sentences (one query per object type on the page,
    # never per row), the last verifications and the chain head.
    ("/governance/audit/", 50, page_events, 8),
    ("/api/v1/audit-events/", 100, api_results, 4),
]


@pytest.mark.parametrize(("url", "page_size", "rows_of", "budget"), AUDIT_LISTS, ids=[r[0] for r in AUDIT_LISTS])
@pytest.mark.parametrize("user_fixture", ["risk_officer", "admin_user"])
def test_audit_lists_cost_the_same_queries_for_few_or_many_events(
    client, request, team, user_fixture, url, page_size, rows_of, budget
):
    client.force_login(request.getfixturevalue(user_fixture))
    # The `team` fixture wrote one event; each project and each stage change writes one more.
    small = queries_for(client, url, 1, rows_of)
    for _ in range(LARGE // 2):
        project = AIProjectFactory(team=team, owner=UserFactory())
        services.project_change_stage(by=None, project=project, stage="design")
    large = queries_for(client, url, min(1 + 2 * (LARGE // 2), page_size), rows_of)
    assert_queries(small, large, equal=budget, what=url)


# --- registries, models, versions, deployments, and the project page's Models section ----------------


def add_versions(model, n: int) -> None:
    """n versions of `model`, each holding its own alias (an open interval) and with one ended interval."""
    start = model.versions.count()
    for number in range(start + 1, start + n + 1):
        version = ModelVersionFactory(registered_model=model, version=str(number))
        hold(version, f"alias-{number}", T0)
        hold(version, f"old-{number}", T0 - dt.timedelta(days=1), T0)


def add_models(registry, project, n: int) -> None:
    for _ in range(n):
        add_versions(RegisteredModelFactory(registry=registry, project=project), 1)


def add_registries(n: int) -> None:
    """n registries, each with a successful and a failed sync and one model with one version."""
    for _ in range(n):
        registry = RegistryFactory()
        SyncRun.objects.create(registry=registry, finished_at=T0, status=SyncStatus.SUCCEEDED)
        SyncRun.objects.create(registry=registry, finished_at=T0, status=SyncStatus.FAILED, error="boom")
        add_versions(RegisteredModelFactory(registry=registry), 1)


def page_registries(response):
    return len(response.context["registries"])


def page_versions(response):
    return sum(len(m.shown_versions) for m in response.context["models"])


@pytest.fixture
def linked_model(project):
    return RegisteredModelFactory(registry=RegistryFactory(), project=project, name="fraud-detector")


# url, rows for n, how to count them, budget for an executive (a team lead's scope costs 1 more).
# The fixed cost: session, user, roles, COUNT for the page, the rows; versions prefetch what they hold
# now, and a project filter looks the project up.
VERSION_LISTS = [
    ("/api/v1/model-versions/", lambda n: n, api_results, 6),
    ("/api/v1/model-versions/?alias=alias-1&project=fraud-scoring", lambda n: 1, api_results, 7),
    ("/api/v1/deployments/", lambda n: n, api_results, 5),
    ("/api/v1/deployments/?at=2025-11-02T12:00:00Z&project=fraud-scoring", lambda n: n, api_results, 6),
]


@pytest.mark.parametrize(("url", "rows", "rows_of", "budget"), VERSION_LISTS, ids=[r[0] for r in VERSION_LISTS])
@pytest.mark.parametrize(("user_fixture", "extra"), [("executive", 0), ("team_lead", 1)])
def test_version_and_deployment_lists_cost_the_same_for_one_or_fifty_versions(
    client, request, linked_model, url, rows, rows_of, budget, user_fixture, extra
):
    client.force_login(request.getfixturevalue(user_fixture))
    add_versions(linked_model, SMALL)
    small = queries_for(client, url, rows(SMALL), rows_of)
    add_versions(linked_model, LARGE - SMALL)
    large = queries_for(client, url, rows(LARGE), rows_of)
    assert_queries(small, large, equal=budget + extra, what=url)


@pytest.mark.parametrize(("user_fixture", "budget"), [("executive", 5), ("team_lead", 6)])
def test_registered_model_list_costs_the_same_for_one_or_fifty_models(client, request, project, user_fixture, budget):
    client.force_login(request.getfixturevalue(user_fixture))
    registry = RegistryFactory()
    add_models(registry, project, SMALL)
    small = queries_for(client, "/api/v1/registered-models/", SMALL, api_results)
    add_models(registry, project, LARGE - SMALL)
    large = queries_for(client, "/api/v1/registered-models/", LARGE, api_results)
    assert_queries(small, large, equal=budget, what="/api/v1/registered-models/")


# Health is computed in the registries' own query (subqueries), so every role pays the same 5.
REGISTRY_LISTS = [
    ("/api/v1/registries/", api_results, 5),
    ("/projects/registries/", page_registries, 5),
]


@pytest.mark.parametrize(("url", "rows_of", "budget"), REGISTRY_LISTS, ids=[r[0] for r in REGISTRY_LISTS])
@pytest.mark.parametrize("user_fixture", ["executive", "team_lead", "admin_user"])
def test_registry_lists_cost_the_same_for_one_or_fifty_registries(client, request, url, rows_of, budget, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    add_registries(SMALL)
    small = queries_for(client, url, SMALL, rows_of)
    add_registries(LARGE - SMALL)
    large = queries_for(client, url, LARGE, rows_of)
    assert_queries(small, large, equal=budget, what=url)


# session, user, roles, project, its models, their versions, what they hold now, their history;
# writers also get the link form (2: is it empty, its options), a team lead's scope costs 1 more; the
# versions' metrics (1) and governance's champion/challenger widget (3: alias holders, their metrics, the
# policies' directions).
@pytest.mark.parametrize(("user_fixture", "budget"), [("executive", 12), ("team_lead", 15), ("admin_user", 14)])
def test_project_page_costs_the_same_for_one_or_fifty_versions(client, request, project, user_fixture, budget):
    """One model with one version, then five models with ten versions each (and their alias history)."""
    client.force_login(request.getfixturevalue(user_fixture))
    registry = RegistryFactory()
    first = RegisteredModelFactory(registry=registry, project=project)
    add_versions(first, SMALL)
    RegisteredModelFactory(registry=registry)  # an unlinked model, offered by the link form
    small = queries_for(client, f"/projects/{project.slug}/", SMALL, page_versions)
    add_versions(first, 9)
    for _ in range(4):
        add_versions(RegisteredModelFactory(registry=registry, project=project), 10)
    large = queries_for(client, f"/projects/{project.slug}/", LARGE, page_versions)
    assert_queries(small, large, equal=budget, what="the project page")
