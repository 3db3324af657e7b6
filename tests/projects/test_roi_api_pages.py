"""/api/v1/roi-entries/ selects a page by its ids first on SQLite (core.queries.ids_first, an index walk where the
plain slice sorted every entry of the month with its row): every page must hold the rows, in the order, that the
plain slice gives, for every reader and filter, in as many queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.api.pagination import PageNumberPagination
from core.queries import ids_first
from projects.api.roi import ROIEntryViewSet
from projects.models import ROIEntry
from projects.roi import services
from tests.factories import AIProjectFactory

KEYS = [("value", "cost_saving"), ("cost", "compute")]


@pytest.fixture
def ledger(project, other_project, team_lead, other_lead):
    """Entries of three projects over two months, the newest project first by slug, so that slug order is not id
    order; every (kind, category, basis) in every month of every project."""
    first = AIProjectFactory(team=project.team, name="Aaa first", owner=team_lead)
    assert first.slug < project.slug
    assert first.pk > project.pk
    for p, lead in ((project, team_lead), (other_project, other_lead), (first, team_lead)):
        for month in (dt.date(2026, 2, 1), dt.date(2026, 3, 1)):
            for kind, category in KEYS:
                for basis in ("planned", "actual"):
                    services.roi_entry_create(by=lead, project=p, month=month, kind=kind, category=category,
                                              basis=basis, amount=Decimal("10.00"))  # fmt: skip
    return first


def _pages(client, url):
    bodies, queries = [], []
    while url:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        bodies.append(response.content)
        queries.append([q["sql"] for q in ctx.captured_queries])
        url = response.json()["next"]
    return bodies, queries


@pytest.mark.parametrize("persona", ["executive", "team_lead"])
@pytest.mark.parametrize("query", ["", "&kind=cost", "&project=fraud-scoring", "&month_to=2026-02", "&page_size=200"])
def test_every_page_is_the_plain_slices_in_as_many_queries(request, client, ledger, monkeypatch, persona, query):
    client.force_login(request.getfixturevalue(persona))
    url = f"/api/v1/roi-entries/?page_size=5{query}"
    ids_first_pages, ids_first_queries = _pages(client, url)
    monkeypatch.setattr(ROIEntryViewSet, "pagination_class", PageNumberPagination)
    plain_pages, plain_queries = _pages(client, url)
    assert ids_first_pages == plain_pages
    assert [len(q) for q in ids_first_queries] == [len(q) for q in plain_queries]
    if connection.vendor == "sqlite":
        assert all(any(" IN (SELECT " in sql for sql in q) for q in ids_first_queries)


def test_ids_first_reads_the_slices_rows_in_order(ledger):
    ordered = ROIEntry.objects.select_related("project").order_by("-month", "project__slug", "kind", "id")
    for bottom, top in ((0, 5), (5, 11), (20, 30), (40, 60)):
        assert list(ids_first(ordered[bottom:top])) == list(ordered[bottom:top])
