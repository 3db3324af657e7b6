"""The beat tick that syncs due registries: a tick delivered twice (two beats, a beat restarted within a
window) syncs each registry once; retries and redeliveries of the tick's own task, and manual syncs, run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from projects import tasks
from projects.models import SyncRun, SyncStatus
from projects.registries import sync as sync_module
from projects.registries.selectors import registries_due
from projects.registries.sync import registry_sync
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

pytestmark = pytest.mark.django_db

SNAPSHOT = snapshot({"fraud": {}}, {"fraud": ["1", "2"]})


@pytest.fixture
def fake_registries(monkeypatch):
    monkeypatch.setattr(sync_module, "adapter_for", lambda registry: FakeAdapter(SNAPSHOT))
    return [RegistryFactory(name=f"mlflow-{n}") for n in range(3)]


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """The sync tasks a tick sends, kept instead of queued, to be run later as a worker would."""
    calls: list[tuple] = []
    monkeypatch.setattr(tasks.sync_registry, "delay", lambda *args: calls.append(args))
    return calls


def run_sent(calls: list[tuple]) -> None:
    for n, args in enumerate(calls):
        tasks.sync_registry.apply(args=args, task_id=f"tick-task-{n}")


def test_a_tick_delivered_twice_before_any_worker_ran_syncs_each_registry_once(fake_registries, sent):
    tasks.sync_due_registries()
    tasks.sync_due_registries()
    assert sorted(registry_id for registry_id, _ in sent) == sorted(2 * [r.pk for r in fake_registries])
    assert {last for _, last in sent} == {""}  # never synced: any later sync serves the tick

    run_sent(sent)

    for registry in fake_registries:
        runs = SyncRun.objects.filter(registry=registry)
        assert list(runs.values_list("status", flat=True)) == [SyncStatus.SUCCEEDED]
        assert runs.get().created == 3  # one model, two versions


def test_a_second_tick_after_the_syncs_started_sends_nothing_and_the_next_window_syncs_again(fake_registries, sent):
    tasks.sync_due_registries()
    run_sent(sent)
    sent.clear()

    tasks.sync_due_registries()  # the same window, fired again
    assert sent == []

    # The interval passes: the tick names the last attempt it saw, and the sync runs again.
    SyncRun.objects.update(started_at=timezone.now() - dt.timedelta(seconds=3600))
    tasks.sync_due_registries()
    assert len(sent) == len(fake_registries)
    last = SyncRun.objects.get(registry=fake_registries[0]).started_at
    assert (fake_registries[0].pk, last.isoformat()) in sent
    for n, args in enumerate(sent):
        tasks.sync_registry.apply(args=args, task_id=f"next-window-{n}")
    assert SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).count() == 2 * len(fake_registries)


def test_a_retry_or_redelivery_of_the_ticks_own_task_is_not_taken_for_another_sync(fake_registries):
    registry = fake_registries[0]
    seen = timezone.now() - dt.timedelta(minutes=5)
    SyncRun.objects.create(registry=registry, task_id="tick-task", status=SyncStatus.FAILED, finished_at=timezone.now())

    run = registry_sync(registry=registry, task_id="tick-task", attempted_after=seen)

    assert run is not None
    assert run.status == SyncStatus.SUCCEEDED


def test_a_sync_started_by_another_task_after_the_tick_saw_the_registry_serves_the_tick(fake_registries):
    registry = fake_registries[0]
    seen = timezone.now() - dt.timedelta(minutes=5)
    SyncRun.objects.create(registry=registry, task_id="manual", status=SyncStatus.SUCCEEDED, finished_at=timezone.now())

    assert registry_sync(registry=registry, task_id="tick-task", attempted_after=seen) is None
    assert SyncRun.objects.filter(registry=registry).count() == 1  # the skipped sync left no row


def test_manual_syncs_always_run(fake_registries):
    registry = fake_registries[0]
    registry_sync(registry=registry, task_id="a")
    registry_sync(registry=registry, task_id="b")
    assert SyncRun.objects.filter(registry=registry, status=SyncStatus.SUCCEEDED).count() == 2
    assert registries_due(now=timezone.now()) == [(r.pk, None) for r in fake_registries[1:]]
