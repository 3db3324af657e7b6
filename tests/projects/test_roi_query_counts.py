"""The ROI tab, the ROI API list and the team lead's month status cost a fixed number of queries
however many entries there are (no N+1): each is measured with 10 and with 500 entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from projects.models import ROIEntry
from projects.roi.figures import add_months
from projects.roi.forms import this_month
from projects.views.home import roi_home_context
from tests.factories import UserFactory
from tests.query_counts import QueryCount, assert_queries, capture_queries

SMALL, LARGE = 10, 500
KEYS = [
    ("value", "revenue_uplift"), ("value", "cost_saving"), ("value", "productivity"),
    ("cost", "compute"), ("cost", "people"),
]  # fmt: skip


def add_entries(n: int, project, loggers) -> None:
    """n entries of one project, one per (month, key, basis), logged by several people. Built with
    bulk_create: the services would take long at 500, and the reads are what is measured here."""
    start = ROIEntry.objects.filter(project=project).count()
    first = add_months(this_month(), -60)
    rows = []
    for i in range(start, start + n):
        kind, category = KEYS[i % len(KEYS)]
        basis = "actual" if (i // len(KEYS)) % 2 else "planned"
        month = add_months(first, i // (2 * len(KEYS)))
        amount = D(100 + i)
        rows.append(ROIEntry(project=project, month=month, kind=kind, category=category, basis=basis, amount=amount,
                             currency="EUR", amount_reporting=amount, logged_by=loggers[i % len(loggers)]))  # fmt: skip
    ROIEntry.objects.bulk_create(rows)


@pytest.fixture
def loggers(db):
    return [UserFactory(username=f"logger{i}") for i in range(5)]


def count(fn) -> QueryCount:
    with capture_queries() as captured:
        fn()
    return captured.count


@pytest.mark.parametrize("persona", ["team_lead", "executive"])
def test_the_roi_tab_costs_the_same_at_10_and_500_entries(persona, request, client, project, loggers):
    client.force_login(request.getfixturevalue(persona))
    url = f"/projects/{project.slug}/roi/"
    add_entries(SMALL, project, loggers)
    client.get(url)  # warm per-process caches (content types, templates)
    small = count(lambda: client.get(url))
    add_entries(LARGE - SMALL, project, loggers)
    assert ROIEntry.objects.count() == LARGE
    response = client.get(url)
    assert len(response.context["entries"]) == 25
    large = count(lambda: client.get(url))
    # session, user, roles, teams, project, figures (one aggregate, which the charts reuse), page count,
    # page rows (+ the team lead's deleted entries that can be restored): measured when written.
    assert_queries(small, large, at_most=10, what=url)


def test_the_roi_api_list_costs_the_same_at_10_and_500_entries(client, admin_user, project, loggers):
    client.force_login(admin_user)
    add_entries(SMALL, project, loggers)
    client.get("/api/v1/roi-entries/")
    small = count(lambda: client.get("/api/v1/roi-entries/"))
    add_entries(LARGE - SMALL, project, loggers)
    response = client.get("/api/v1/roi-entries/")
    assert response.json()["count"] == LARGE
    large = count(lambda: client.get("/api/v1/roi-entries/"))
    assert_queries(small, large, at_most=5, what="/api/v1/roi-entries/")  # session, user, roles, count, page rows


def test_the_team_leads_month_status_is_one_query_however_many_projects(team_lead, team, loggers):
    from tests.factories import AIProjectFactory

    projects = [AIProjectFactory(name=f"Project {i}", team=team, owner=team_lead) for i in range(3)]
    for p in projects:
        add_entries(SMALL, p, loggers)
    roi_home_context(user=team_lead)  # the user's teams and roles are cached on the user after this
    small = count(lambda: roi_home_context(user=team_lead))
    projects += [AIProjectFactory(name=f"More {i}", team=team, owner=team_lead) for i in range(12)]
    for p in projects[3:]:
        add_entries(40, p, loggers)
    context = roi_home_context(user=team_lead)
    assert len(context["roi_projects"]) == 15
    large = count(lambda: roi_home_context(user=team_lead))
    # The status of every project, and the form's choices come from the same rows.
    assert_queries(small, large, equal=1, what="roi_home_context")


def test_the_project_series_is_one_aggregate_query(project, loggers):
    from projects.roi.selectors import roi_project_figures

    add_entries(LARGE, project, loggers)
    with capture_queries() as captured:
        figures = roi_project_figures(project=project)
    assert_queries(captured.count, equal=1, what="roi_project_figures")
    assert "SUM" in captured.count.sql[0].upper()
    assert figures.cumulative_value + figures.planned_value > 0
    assert dt.date.today() >= figures.first_month  # noqa: DTZ011 - a calendar comparison
