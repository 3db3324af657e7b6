"""core.bulk_insert.insert_many stores exactly what Django's bulk_create stores (on SQLite, and on PostgreSQL
through its one-JSON-document path), sets the primary keys on the objects in order, and follows a
foreign key to an object saved after it was assigned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DataError, IntegrityError, transaction
from django.forms.models import model_to_dict

from core.bulk_insert import insert_many, insert_values
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, Signal
from tests.registry_factories import RegistryFactory

pytestmark = pytest.mark.django_db

AWKWARD = {
    "run_id": 'quote " backslash \\ tab \t',
    "source": "s3://bucket/naïve/模型/😀",
    "description": "line\nbreak, 'single', %s %(name)s {}",
    "tags": {"a": "1", "nested": {"list": [1, 2.5, None, True, "x"]}, "ünïcode": "値", "empty": {}},
    "raw": {"version": "7", "big": 2**62, "neg": -3, "float": 0.1, "null": None, "s": "\\u0041"},
    "metrics": {"auc": {"value": 0.9123456789012345, "timestamp": "2026-01-01T00:00:00+00:00", "step": 3}},
    "run_params": {},
    "run_params_count": None,
    "registry_created_at": dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
    "registry_updated_at": None,
    "run_started_at": dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
}


def _versions(model, n: int, prefix: str) -> list[ModelVersion]:
    return [ModelVersion(registered_model=model, version=f"{prefix}{i}", version_number=i, **AWKWARD) for i in range(n)]


def _stored(pks) -> list[dict]:
    rows = ModelVersion.objects.filter(pk__in=pks).order_by("version_number")
    return [{k: v for k, v in model_to_dict(r).items() if k not in ("id", "version", "first_seen_at")} for r in rows]


def test_rows_read_back_the_same_as_bulk_creates_and_keys_are_set_in_order():
    registry = RegistryFactory()
    model = RegisteredModel.objects.create(registry=registry, name="m")
    ours = _versions(model, 7, "a")
    insert_many(ModelVersion, ours, batch_size=3)  # three batches on SQLite
    django = _versions(model, 7, "b")
    ModelVersion.objects.bulk_create(django)

    assert all(v.pk and not v._state.adding for v in ours)
    assert [ModelVersion.objects.get(pk=v.pk).version for v in ours] == [v.version for v in ours]
    assert _stored([v.pk for v in ours]) == _stored([v.pk for v in django])
    stored = ModelVersion.objects.get(pk=ours[0].pk)
    assert (stored.tags, stored.raw, stored.registry_created_at) == (
        AWKWARD["tags"], AWKWARD["raw"], AWKWARD["registry_created_at"],
    )  # fmt: skip


def test_a_foreign_key_to_an_object_saved_after_it_was_assigned_is_followed():
    registry = RegistryFactory()
    model = RegisteredModel(registry=registry, name="new-model")
    version = ModelVersion(registered_model=model, version="1", version_number=1)
    interval = DeploymentObservation(
        registered_model=model, version=version, signal=Signal.ALIAS, name="champion",
        observed_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    insert_many(RegisteredModel, [model])
    insert_many(ModelVersion, [version])
    insert_many(DeploymentObservation, [interval])
    stored = DeploymentObservation.objects.select_related("version__registered_model").get(pk=interval.pk)
    assert (stored.version.registered_model.name, stored.version.version) == ("new-model", "1")


def test_constraints_hold_as_for_any_insert():
    registry = RegistryFactory()
    model = RegisteredModel.objects.create(registry=registry, name="m")
    insert_many(ModelVersion, [ModelVersion(registered_model=model, version="1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(ModelVersion, [ModelVersion(registered_model=model, version="1")])


def test_a_value_too_long_for_its_column_is_refused_on_postgresql_not_truncated():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce varchar lengths")
    model = RegisteredModel.objects.create(registry=RegistryFactory(), name="m")
    with pytest.raises(DataError), transaction.atomic():
        insert_many(ModelVersion, [ModelVersion(registered_model=model, version="x" * 51)])


def test_insert_values_stores_what_bulk_create_stores_fills_the_defaults_and_returns_saved_instances():
    registry = RegistryFactory()
    model = RegisteredModel.objects.create(registry=registry, name="m")
    rows = [{"registered_model_id": model.pk, "version": f"a{i}", "version_number": i, **AWKWARD} for i in range(7)]
    ours = insert_values(ModelVersion, rows, batch_size=3)
    django = _versions(model, 7, "b")
    ModelVersion.objects.bulk_create(django)

    assert [v.version for v in ours] == [f"a{i}" for i in range(7)]
    assert all(v.pk and not v._state.adding for v in ours)
    assert _stored([v.pk for v in ours]) == _stored([v.pk for v in django])
    # The instances hold what was stored, defaults included (each its own dict, a time of its own).
    stored = {v.pk: v for v in ModelVersion.objects.filter(pk__in=[v.pk for v in ours])}
    for v in ours:
        assert model_to_dict(v) == model_to_dict(stored[v.pk])
    bare = insert_values(ModelVersion, [{"registered_model_id": model.pk, "version": f"c{i}"} for i in range(2)])
    assert bare[0].run_params == {}
    assert bare[0].run_params is not bare[1].run_params
    assert (bare[0].first_seen_at is not None, bare[0].deleted_at, bare[0].version_number) == (True, None, 0)
    assert model_to_dict(ModelVersion.objects.get(pk=bare[0].pk)) == model_to_dict(bare[0])
