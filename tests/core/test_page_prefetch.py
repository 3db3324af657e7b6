"""core.prefetch: a list page's plain reverse prefetches run without Django's prefetch machinery. The page's
rows, each row's prefetched rows (their order, their columns, their foreign key's cached row) and the number
of queries are the ORM's, for every page; the prefetch's SQL is compiled once per number of keys; and any
lookup that is not plain is left to Django."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F, Prefetch
from django.test.utils import CaptureQueriesContext

from core.prefetch import lean_page
from governance.models import Mitigation, Risk
from projects.models import DeploymentObservation, ModelVersion
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, hold
from tests.risk_factories import MitigationFactory, overdue_risk

from .test_lean_instances import snapshot

pytestmark = pytest.mark.usefixtures("empty_compiled_cache")


@pytest.fixture
def risks(project, other_project, team_lead, other_lead):
    """Six risks: with two mitigations (one without a due date), with one, and with none."""
    for p, lead in ((project, team_lead), (other_project, other_lead)):
        for n in (1, 2, 3):
            risk = overdue_risk(project=p, title=f"Risk {n} at {p.slug}", likelihood=n + 1, impact=4)
            if n < 3:
                MitigationFactory(risk=risk, owner=lead, due_date=dt.date(2030, 1, n))
            if n == 1:
                MitigationFactory(risk=risk, owner=team_lead, due_date=None)


def shown():
    return Mitigation.objects.select_related("owner").order_by(F("due_date").asc(nulls_last=True), "id")


def risk_page(lookup=None):
    lookup = lookup or Prefetch("mitigations", queryset=shown(), to_attr="shown")
    return Risk.objects.select_related("project").prefetch_related(lookup).order_by("title", "id")


def snap(risk, attr="shown"):
    rows = getattr(risk, attr, None)
    return plain(risk), None if rows is None else [snapshot(m) for m in rows]


def plain(obj):
    """snapshot() without the manager caches Django's own prefetch leaves (querysets compare by identity)."""
    out = snapshot(obj)
    out["attrs"].pop("_prefetched_objects_cache", None)
    return out


def test_every_page_is_the_orms_in_as_many_queries_its_prefetch_compiled_once(risks, compiles):
    fast_compiles = 0
    for low, high in [(0, 3), (3, 6), (1, 4), (0, 3), (0, 6)]:
        with CaptureQueriesContext(connection) as orm_ran:
            orm = [snap(r) for r in risk_page()[low:high]]
        before = compiles.count(Mitigation)
        with CaptureQueriesContext(connection) as ran:
            fast = [snap(r) for r in lean_page(risk_page())[low:high]]
        fast_compiles += compiles.count(Mitigation) - before
        assert fast == orm
        assert len(ran) == len(orm_ran) == 2
        assert [q["sql"] for q in ran] == [q["sql"] for q in orm_ran]
    assert sum(len(rows) for _, rows in orm) == 6
    assert all(m.risk is r for r in lean_page(risk_page()) for m in r.shown)  # each row's risk is its page's
    assert fast_compiles == 2  # one per number of keys (3, 6)


def test_a_reverse_prefetch_of_versions_is_the_orms(project):
    model = RegisteredModelFactory(project=project, name="churn")
    for n in (1, 2, 3):
        version = ModelVersionFactory(registered_model=model, version=str(n))
        hold(version, "champion", T0 + dt.timedelta(days=n), None if n == 3 else T0 + dt.timedelta(days=n + 1))
        hold(version, f"stage-{n}", T0, None)
    holding = DeploymentObservation.objects.filter(observed_until__isnull=True).order_by("signal", "name")

    def page():
        lookup = Prefetch("deployments", queryset=holding, to_attr="holding_now")
        return ModelVersion.objects.prefetch_related(lookup)

    for _ in range(2):
        orm = [snap(v, "holding_now") for v in page()]
        assert [snap(v, "holding_now") for v in lean_page(page())] == orm
    assert [len(rows) for _, rows in orm] == [2, 1, 1]


@pytest.mark.parametrize(
    "lookup",
    [
        "mitigations",  # no queryset, no to_attr: the manager's cache
        Prefetch("mitigations", queryset=shown()),  # no to_attr
        Prefetch("mitigations", queryset=shown()[:1], to_attr="shown"),  # a sliced queryset
        Prefetch("mitigations", queryset=shown().prefetch_related("owner"), to_attr="shown"),  # a prefetch of its own
        Prefetch("project__risks", queryset=Risk.objects.order_by("id"), to_attr="shown"),  # two levels
    ],
    ids=["plain lookup", "no to_attr", "sliced", "nested prefetch", "two levels"],
)
def test_any_other_lookup_is_left_to_django(risks, lookup):
    def page():
        return risk_page(lookup)

    def rows(risk):  # the rows' own attributes (their cached related rows hold Django's querysets)
        if isinstance(lookup, str) or not lookup.to_attr:
            related = risk.mitigations.all()
        else:
            related = risk.shown if hasattr(risk, "shown") else risk.project.shown
        return [snapshot(m)["attrs"] for m in related]

    with CaptureQueriesContext(connection) as orm_ran:
        orm = [(plain(r), rows(r)) for r in page()]
    with CaptureQueriesContext(connection) as ran:
        fast = [(plain(r), rows(r)) for r in lean_page(page())]
    assert fast == orm
    assert len(ran) == len(orm_ran)


def test_an_empty_page_runs_no_prefetch(risks):
    with CaptureQueriesContext(connection) as ran:
        assert list(lean_page(risk_page()).filter(title="nobody")) == []
    assert len(ran) == 1


def test_a_page_with_any_other_lookup_is_left_to_django_whole(risks):
    def page():
        return risk_page().prefetch_related("project__risks")

    def rows(risk):  # the rows' own attributes (their cached risk and project hold Django's querysets)
        return risk.pk, [snapshot(m)["attrs"] for m in risk.shown], [r.pk for r in risk.project.risks.all()]

    with CaptureQueriesContext(connection) as orm_ran:
        orm = [rows(r) for r in page()]
    with CaptureQueriesContext(connection) as ran:
        fast = [rows(r) for r in lean_page(page())]
    assert fast == orm
    assert len(ran) == len(orm_ran) == 3


def test_a_queryset_made_from_a_loaded_page_prefetches_again(risks):
    page = lean_page(risk_page())
    assert sum(len(r.shown) for r in page) == 6
    again = page.filter(likelihood__gte=3)
    assert [snap(r) for r in again] == [snap(r) for r in risk_page().filter(likelihood__gte=3)]
    assert sum(len(r.shown) for r in again) == 2
