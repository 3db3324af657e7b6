"""The sync tells subscribers (governance, later) what it saw, inside its own transaction."""

import pytest

from projects import events
from projects.registries.sync import registry_sync
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    got = {"synced": [], "observed": []}

    def on_synced(sender, version, **kwargs):
        got["synced"].append((version.registered_model.name, version.version))

    def on_observed(sender, observation, **kwargs):
        got["observed"].append((observation.version.version, observation.signal, observation.name))

    events.model_version_synced.connect(on_synced, weak=False)
    events.deployment_observed.connect(on_observed, weak=False)
    yield got
    events.model_version_synced.disconnect(on_synced)
    events.deployment_observed.disconnect(on_observed)


def test_a_sync_sends_one_event_per_new_version_and_per_new_deployment(received):
    registry = RegistryFactory()
    registry_sync(
        registry=registry,
        adapter=FakeAdapter(snapshot({"fraud": {"aliases": {"champion": "2"}}}, {"fraud": ["1", "2"]})),
    )
    assert sorted(received["synced"]) == [("fraud", "1"), ("fraud", "2")]
    assert received["observed"] == [("2", "alias", "champion")]


def test_a_sync_that_changes_nothing_sends_nothing(received):
    registry = RegistryFactory()
    snap = snapshot({"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    registry_sync(registry=registry, adapter=FakeAdapter(snap))
    received["synced"].clear()
    received["observed"].clear()
    registry_sync(registry=registry, adapter=FakeAdapter(snap))
    assert received == {"synced": [], "observed": []}


def test_an_alias_move_is_observed_once_for_the_new_holder(received):
    registry = RegistryFactory()
    registry_sync(
        registry=registry, adapter=FakeAdapter(snapshot({"m": {"aliases": {"prod": "1"}}}, {"m": ["1", "2"]}))
    )
    received["observed"].clear()
    registry_sync(
        registry=registry, adapter=FakeAdapter(snapshot({"m": {"aliases": {"prod": "2"}}}, {"m": ["1", "2"]}))
    )
    assert received["observed"] == [("2", "alias", "prod")]
