"""The risk pages cost a fixed number of queries however many risks there are (no N+1), and the heat
map is one aggregate query.

Each page is fetched with 10 and with 500 risks; the counts must be equal and within the budget,
which is the count measured when the page was written. A page that needs more has grown a query per
row or a new fixed cost, and either deserves a look before the budget is raised.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import Mitigation, Risk, RiskCategory, RiskStatus
from governance.risks.selectors import risk_heatmap_counts
from tests.factories import AIProjectFactory, UserFactory
from tests.query_counts import assert_queries, capture_queries, csv_line_count, get_counting_queries
from tests.risk_factories import RiskFactory

SMALL, LARGE = 10, 500


def add_risks(n: int, projects: list, owners: list) -> None:
    """n risks spread over the projects, owners, categories, statuses and every cell; every other one
    has two mitigations. Built with bulk_create (the services would take minutes at 500)."""
    today = timezone.localdate()
    cells = list(itertools.product(range(1, 6), range(1, 6)))
    risks = []
    start = Risk.objects.count()  # a second call carries on where the first stopped
    for i in range(start, start + n):
        lk, im = cells[i % 25]
        risk = Risk(
            project=projects[i % len(projects)],
            title=f"Risk {i:04}",
            category=RiskCategory.values[i % len(RiskCategory.values)],
            likelihood=lk,
            impact=im,
            residual_likelihood=max(1, lk - 1),
            residual_impact=im,
            owner=owners[i % len(owners)],
            status=RiskStatus.values[i % len(RiskStatus.values)],
            next_review_date=today + dt.timedelta(days=i % 90 - 10),
            review_overdue=i % 7 == 0,
        )
        risk.compute_scores()
        risks.append(risk)
    Risk.objects.bulk_create(risks, batch_size=250)
    mitigations = [
        Mitigation(
            risk=risk, action=f"Action {k} for {risk.title}", owner=risk.owner, status="done" if k else "planned"
        )
        for risk in Risk.objects.filter(title__in=[r.title for r in risks[::2]])
        for k in range(2)
    ]
    Mitigation.objects.bulk_create(mitigations, batch_size=250)


@pytest.fixture
def world(team, other_team, project, other_project):
    """Projects of two teams (the lead's and another) and owners to spread the risks over."""
    projects = [project, other_project, AIProjectFactory(team=team), AIProjectFactory(team=other_team)]
    owners = [UserFactory() for _ in range(5)]
    return projects, owners


def rows_shown(response) -> int:
    if response.streaming:
        return csv_line_count(response)
    if "context" in dir(response) and response.context is not None and "risks" in response.context:
        return len(response.context["risks"])
    return sum(1 for _ in load_workbook(io.BytesIO(response.content), read_only=True)["Risks"].iter_rows()) - 1


def page_of(n: int) -> int:
    return min(n, 25)


# Session, user, roles; the heat map; the list's count and page; the team and project filter choices
# (portfolio) or the project and its tier assessment (project tab); a team lead's teams (one query).
# url, persona, rows shown for n risks in all (None: not counted here), budget. Risk i sits in cell
# (i // 5 % 5 + 1, i % 5 + 1), in project i % 4 (0 and 2 are the Claims team's, 0 is fraud-scoring),
# with status i % 4 (0 is open): the filtered URLs pick cells that hold rows at both sizes.
PAGES = [
    ("/governance/risks/", "executive", page_of, 8),
    ("/governance/risks/?axis=inherent&likelihood=2&impact=4&team=claims&status=open", "executive", None, 10),
    ("/governance/risks/", "team_lead", lambda n: page_of(n // 2), 9),
    ("/governance/risks/?export=csv", "executive", lambda n: n, 4),
    ("/governance/risks/?export=xlsx", "executive", lambda n: n, 4),
    ("/governance/projects/fraud-scoring/risks/", "team_lead", lambda n: min((n + 3) // 4, 50), 9),
    ("/governance/projects/fraud-scoring/risks/?axis=inherent&likelihood=1&impact=5", "risk_officer", None, 8),
]


@pytest.mark.parametrize(("url", "persona", "rows", "budget"), PAGES, ids=[f"{p[0]} as {p[1]}" for p in PAGES])
def test_risk_pages_cost_the_same_queries_for_10_or_500_risks(request, client, world, url, persona, rows, budget):
    projects, owners = world
    client.force_login(request.getfixturevalue(persona))

    add_risks(SMALL, projects, owners)
    small, small_response = get_counting_queries(client, url)
    add_risks(LARGE - SMALL, projects, owners)
    large, large_response = get_counting_queries(client, url)

    assert Risk.objects.count() == LARGE
    if rows is not None:
        assert (rows_shown(small_response), rows_shown(large_response)) == (rows(SMALL), rows(LARGE))
    assert_queries(small, large, at_most=budget, what=f"{url} at {SMALL} and {LARGE} risks")


def test_the_heat_map_is_one_query_at_any_size(world):
    projects, owners = world
    for n in (SMALL, LARGE - SMALL):
        add_risks(n, projects, owners)
        for axis in ("inherent", "residual"):
            with capture_queries() as captured:
                grid = risk_heatmap_counts(risks=Risk.objects.all(), axis=axis)
            assert_queries(captured.count, equal=1, what=f"risk_heatmap_counts({axis})")
            assert sum(map(sum, grid)) == Risk.objects.count()
    inherent = risk_heatmap_counts(risks=Risk.objects.all(), axis="inherent")
    assert inherent == [[20] * 5 for _ in range(5)]  # 500 risks over 25 cells


def test_the_risk_page_costs_the_same_queries_for_2_or_40_mitigations(client, team_lead, project):
    """The mitigations table renders a status form per row: none of them may query."""
    risk = RiskFactory(project=project, likelihood=4, impact=4)
    owners = [UserFactory() for _ in range(4)]
    client.force_login(team_lead)
    counts = []
    for n in (2, 38):
        Mitigation.objects.bulk_create(
            Mitigation(risk=risk, action=f"Action {len(counts)}-{k}", owner=owners[k % 4]) for k in range(n)
        )
        queries, response = get_counting_queries(client, f"/governance/risks/{risk.pk}/")
        assert len(response.context["mitigations"]) == sum((2, 38)[: len(counts) + 1])
        counts.append(queries)
    # Session, user, roles, the lead's teams (one query), the risk, its mitigations with their owners, the
    # people the add-a-mitigation form offers as owners.
    assert_queries(*counts, equal=7, what="the risk page at 2 and 40 mitigations")
