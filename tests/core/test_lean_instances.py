"""core.queries.lean: a list page's instances, made without Model.__init__, are the ORM's own: the same
attributes, the same related rows, the same state; and a model that needs Model.__init__ (an init signal
receiver) still gets it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.db.models.fields.json import KT
from django.db.models.signals import post_init

from core.queries import LeanModelIterable, _leanable, lean
from governance.models import Risk
from projects.models import AIProject, DeploymentObservation, ModelVersion
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, hold
from tests.risk_factories import MitigationFactory, overdue_risk


def snapshot(obj, depth: int = 0) -> dict:
    """Everything an instance holds: its attributes, its state, and (recursively) the related rows cached on it."""
    attrs = {k: v for k, v in vars(obj).items() if k != "_state"}
    state = obj._state
    cached = {name: snapshot(rel, depth + 1) if rel is not None else None for name, rel in state.fields_cache.items()}
    return {"class": type(obj), "attrs": attrs, "db": state.db, "adding": state.adding, "related": cached}


@pytest.fixture
def rows(project, other_project, team_lead):
    for p in (project, other_project):
        risk = overdue_risk(project=p, title=f"Leak at {p.slug}", likelihood=4, impact=4)
        MitigationFactory(risk=risk, owner=team_lead, due_date=dt.date(2030, 1, 1))
        model = RegisteredModelFactory(project=p, name=f"{p.slug}-model")
        hold(ModelVersionFactory(registered_model=model, version="1"), "champion", T0, None)
    unlinked = RegisteredModelFactory(project=None, name="unlinked")  # a null select_related row
    ModelVersionFactory(registered_model=unlinked, version="1")


QUERYSETS = {
    "projects, related rows": lambda: AIProject.objects.select_related("team", "owner", "executive_sponsor"),
    "risks, some columns": lambda: Risk.objects.select_related("project__team", "owner", "accepted_by").only(
        "id", "title", "status", "project__slug", "project__team__slug", "owner__username", "accepted_by__username"
    ),
    "versions, a nullable relation": lambda: ModelVersion.objects.select_related("registered_model__project"),
    "deployments, annotated": lambda: DeploymentObservation.objects.select_related("version").extra(
        select={"answer": "42"}
    ),
}


@pytest.mark.parametrize("make", QUERYSETS.values(), ids=QUERYSETS.keys())
def test_lean_instances_are_the_orms_instances(rows, make):
    orm = [snapshot(o) for o in make().order_by("pk")]
    leaned = lean(make().order_by("pk"))
    assert leaned._iterable_class is LeanModelIterable
    assert orm
    assert [snapshot(o) for o in leaned] == orm


def test_a_model_with_an_init_receiver_is_made_by_model_init(rows):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=AIProject)
    try:
        projects = list(lean(AIProject.objects.order_by("pk")))
    finally:
        post_init.disconnect(receiver, sender=AIProject)
    assert len(seen) == 2
    assert seen == [p.pk for p in projects]


def test_lean_leaves_values_querysets_alone(rows):
    qs = AIProject.objects.values("slug")
    assert lean(qs) is qs
    assert list(lean(AIProject.objects.values_list("slug", flat=True).order_by("slug"))) == sorted(
        AIProject.objects.values_list("slug", flat=True)
    )


@pytest.mark.parametrize("model", [AIProject, Risk, ModelVersion, DeploymentObservation])
def test_the_list_models_are_made_lean(model):
    """Else the comparison above compares the ORM with itself."""
    assert _leanable(model, [f.attname for f in model._meta.concrete_fields])


def strict(obj) -> dict:
    """An instance's attributes by type and repr: equal aware times in different zones differ here."""
    return {k: (type(v), repr(v)) for k, v in vars(obj).items() if k != "_state"}


@pytest.mark.django_db
def test_lean_json_and_times_are_the_orms_to_the_type_and_zone():
    # lean decodes JSON text and SQLite's times without Django's generic converters (a sync reads thousands).
    model = RegisteredModelFactory(name="json-and-times")
    ModelVersionFactory(
        registered_model=model,
        version="1",
        tags={"owner": "ana", "n": 1},
        raw={"nested": {"ü": [1, 2.5, None, True]}, "s": "x", "big": 10**20},
        metrics={"loss": None},
        run_params={},
        registry_created_at=dt.datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=dt.UTC),
        run_started_at=dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    )
    ModelVersionFactory(registered_model=model, version="2", tags={}, raw=["a", 1], metrics={"auc": {"value": 0.9}})

    def make():
        return (
            ModelVersion.objects.filter(registered_model=model)
            .annotate(owner=KT("tags__owner"), n=F("tags__n"), nested=F("raw__nested"))
            .order_by("pk")
        )

    assert [strict(o) for o in lean(make())] == [strict(o) for o in make()]
