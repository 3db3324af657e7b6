"""core.queries: a list's SQL compiled once per query state (`lean(..., reuse_sql=True)`, `count`). A query in
another state never gets the SQL of the first: other values, another related row, another time zone, another
page each compile their own; and the rows, counts and prefetched rows are the ORM's own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F, Prefetch
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queries
from core.queries import count, lean
from governance.models import Mitigation, Risk
from projects.models import AIProject
from tests.risk_factories import MitigationFactory, overdue_risk

from .test_lean_instances import snapshot

pytestmark = pytest.mark.usefixtures("empty_compiled_cache")


@pytest.fixture
def risks(project, other_project, team_lead):
    for p in (project, other_project):
        for n in (1, 2):
            risk = overdue_risk(project=p, title=f"Risk {n} at {p.slug}", likelihood=n + 2, impact=4)
            MitigationFactory(risk=risk, owner=team_lead, due_date=dt.date(2030, 1, n))
            MitigationFactory(risk=risk, owner=team_lead, due_date=None)


def page(**filters):
    return (
        Risk.objects.select_related("project__team", "owner")
        .filter(**filters)
        .only("id", "title", "project__slug", "project__team__slug", "owner__username")
        .order_by("title", "id")
    )


def test_a_query_in_the_same_state_is_compiled_once_and_reads_the_same_rows(risks, compiles):
    orm = [snapshot(r) for r in page()[:3]]
    first = [snapshot(r) for r in lean(page(), reuse_sql=True)[:3]]
    assert len(compiles) == 2  # the ORM's, then the first lean evaluation's
    with CaptureQueriesContext(connection) as again:
        second = [snapshot(r) for r in lean(page(), reuse_sql=True)[:3]]
    assert len(compiles) == 2
    assert len(again) == 1
    assert first == second == orm
    assert len(orm) == 3


def test_other_values_another_row_or_another_page_compile_their_own(risks, project, other_project):
    def titles(qs):
        return [r.title for r in lean(qs, reuse_sql=True)]

    for _ in range(2):  # the second round reads every state from the cache
        assert titles(page(project=project)) == [r.title for r in page(project=project)]
        assert titles(page(project=other_project)) == [r.title for r in page(project=other_project)]
        assert titles(page(likelihood=3)) == ["Risk 1 at churn-model", "Risk 1 at fraud-scoring"]
        assert titles(page(likelihood=4)) == ["Risk 2 at churn-model", "Risk 2 at fraud-scoring"]
        assert titles(page()[1:3]) == [r.title for r in page()[1:3]]
        assert titles(page()[2:4]) == [r.title for r in page()[2:4]]
    assert titles(page(project=project)) != titles(page(project=other_project))


def test_the_current_time_zone_is_part_of_the_state(risks):
    """A date lookup on a datetime compiles with the current time zone's name: another zone, another SQL."""
    today = timezone.localdate()
    statements = []
    for zone in ("UTC", "Pacific/Kiritimati", "UTC"):
        with timezone.override(zone), CaptureQueriesContext(connection) as ran:
            list(lean(Risk.objects.filter(created_at__date=today), reuse_sql=True))
        statements.append(ran[0]["sql"])
    assert statements[0] == statements[2]
    assert statements[0] != statements[1]


def test_prefetched_rows_are_the_orms_and_their_query_is_compiled_once(risks, compiles):
    def risks_with_mitigations():
        shown = Mitigation.objects.select_related("owner").order_by(F("due_date").asc(nulls_last=True), "id")
        return Risk.objects.prefetch_related(Prefetch("mitigations", queryset=shown, to_attr="shown")).order_by("id")

    def snap(risk):
        return snapshot(risk), [snapshot(m) for m in risk.shown]

    orm = [snap(r) for r in risks_with_mitigations()]
    first = [snap(r) for r in lean(risks_with_mitigations(), reuse_sql=True)]
    compiled = len(compiles)
    second = [snap(r) for r in lean(risks_with_mitigations(), reuse_sql=True)]
    assert len(compiles) == compiled
    assert first == second == orm
    assert sum(len(m) for _, m in orm) == 8


def test_count_is_djangos_count_compiled_once(risks, project, compiles):
    for _ in range(2):
        assert count(lean(Risk.objects.all(), reuse_sql=True)) == 4
        assert count(lean(Risk.objects.filter(project=project), reuse_sql=True)) == 2
        assert count(lean(Risk.objects.filter(likelihood=9), reuse_sql=True)) == 0
    compiled = len(compiles)
    with CaptureQueriesContext(connection) as ran:
        assert count(lean(Risk.objects.filter(project=project), reuse_sql=True)) == 2
    assert len(compiles) == compiled
    assert len(ran) == 1


def test_a_count_with_nothing_to_run_is_left_to_django(db):
    with CaptureQueriesContext(connection) as ran:
        assert count(lean(AIProject.objects.filter(pk__in=[]), reuse_sql=True)) == 0
        assert count(lean(AIProject.objects.filter(pk__in=[]), reuse_sql=True)) == 0
    assert len(ran) == 0
    assert not queries._COMPILED


@pytest.mark.postgres_only
def test_a_statement_without_parameters_runs_prepared_with_the_orms_rows_and_count(risks):
    """On PostgreSQL a reused statement without parameters binds on the server, so psycopg prepares it from its
    fifth run on the connection (the server plans it once): the same rows and count every time."""
    orm = [snapshot(r) for r in page()[:3]]
    for _ in range(7):
        assert [snapshot(r) for r in lean(page(), reuse_sql=True)[:3]] == orm
        assert count(lean(Risk.objects.all(), reuse_sql=True)) == 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any(s.startswith("SELECT COUNT(*)") and '"governance_risk"' in s for s in prepared)
    assert any(s.endswith("LIMIT 3") and '"governance_risk"."title"' in s for s in prepared)
