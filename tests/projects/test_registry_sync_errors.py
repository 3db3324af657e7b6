"""How a sync that cannot store its snapshot is recorded: transient database trouble is retried."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from governance.models import AuditEvent
from projects.models import ModelVersion, SyncRun
from projects.registries import sync as sync_service
from projects.registries.adapters.base import PermanentRegistryError, TransientRegistryError
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError("database is locked"), SoftTimeLimitExceeded()])
def test_a_sync_that_cannot_store_for_a_passing_reason_fails_transiently_and_writes_nothing(monkeypatch, error):
    registry = RegistryFactory()
    events = AuditEvent.objects.count()

    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(sync_service, "_apply_snapshot", refuse)
    with pytest.raises(TransientRegistryError, match="Could not store the snapshot this time"):
        sync_service.registry_sync(registry=registry, adapter=FakeAdapter(snapshot({"m": {}}, {"m": ["1"]})))

    run = SyncRun.objects.get(registry=registry)
    assert (run.status, run.error_transient) == ("failed", True)
    assert ModelVersion.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_sync_that_fails_to_store_for_another_reason_is_permanent(monkeypatch):
    registry = RegistryFactory()

    def broken(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(sync_service, "_apply_snapshot", broken)
    with pytest.raises(ValueError, match="a bug"):
        sync_service.registry_sync(registry=registry, adapter=FakeAdapter(snapshot({"m": {}}, {"m": ["1"]})))
    run = SyncRun.objects.get(registry=registry)
    assert (run.status, run.error_transient) == ("failed", False)
    assert "Could not store the snapshot" in run.error
    assert not issubclass(PermanentRegistryError, TransientRegistryError)
