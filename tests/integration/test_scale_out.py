"""Scale-out: two worker processes on Redis sync a burst of 20 registries (one real MLflow server behind 20
registry entries). Each registry is synced once per beat tick, with nothing doubled, even when the tick is
delivered twice in one window; and a worker killed in the middle of the burst loses nothing.

The tick is sent as beat sends it (`sync_due_registries` through the broker); "twice in one window" is two
sends before any sync has started, the case two beats (or a beat restarted within a window) produce.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from governance.audit.chain import PG_CHAIN_LOCK_KEY, verify_chain
from governance.models import AuditEvent, Finding
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RegistryKind, SyncRun, SyncStatus
from projects.registries import services as registry_services
from projects.tasks import sync_due_registries
from tests.conftest import need_service
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REGISTRIES = 20
MODELS, VERSIONS_PER_MODEL = 3, 4  # each registry: 3 models, 12 versions, 3 champions
BURST_TIMEOUT = 90  # seconds for two workers to sync the whole burst
SYNC_ACTIONS = ("registered_model.created", "model_version.created", "deployment.observed")
SUCCEEDED_LINE = re.compile(r"projects\.tasks\.sync_registry\[([0-9a-f-]+)\] succeeded")
RECEIVED_LINE = re.compile(r"projects\.tasks\.sync_registry\[([0-9a-f-]+)\] received")


@pytest.fixture
def redis_broker():
    """This is about several workers sharing Redis: skip without it (fail in CI)."""
    need_service(bool(settings.REDIS_URL), "Redis (REDIS_URL) for the scale-out tests")
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def populate(url: str) -> None:
    api = f"{url}/api/2.0/mlflow"

    def post(path: str, body: dict) -> None:
        requests.post(f"{api}/{path}", json=body, timeout=60).raise_for_status()

    for m in range(MODELS):
        name = f"model-{m}"
        post("registered-models/create", {"name": name})
        for v in range(VERSIONS_PER_MODEL):
            post("model-versions/create", {"name": name, "source": f"s3://models/{name}/{v}"})
        post("registered-models/alias", {"name": name, "alias": "champion", "version": str(VERSIONS_PER_MODEL)})


def burst_of_registries(url: str) -> list:
    return [
        registry_services.registry_create(by=None, name=f"mlflow-{n:02d}", kind=RegistryKind.MLFLOW, base_url=url)
        for n in range(REGISTRIES)
    ]


def sync_tasks_succeeded(*workers) -> list[str]:
    return [task_id for w in workers for task_id in SUCCEEDED_LINE.findall(w.read_log())]


def assert_nothing_doubled(registries) -> None:
    """Every registry holds the server's models, versions and champions once; every sync change is audited once."""
    for registry in registries:
        assert RegisteredModel.objects.filter(registry=registry).count() == MODELS
    pairs = list(ModelVersion.objects.values_list("registered_model__registry", "registered_model__name", "version"))
    assert len(pairs) == len(set(pairs)) == REGISTRIES * MODELS * VERSIONS_PER_MODEL
    intervals = list(DeploymentObservation.objects.values_list("registered_model__registry", "registered_model__name",
                                                                "signal", "name", "observed_from"))  # fmt: skip
    assert len(intervals) == len({i[:4] for i in intervals}) == REGISTRIES * MODELS
    assert not DeploymentObservation.objects.exclude(observed_until=None).exists()
    events = Counter(
        AuditEvent.objects.filter(action__in=SYNC_ACTIONS).values_list("action", "object_type", "object_id")
    )
    assert max(events.values()) == 1  # no (action, object) twice
    assert Counter(action for action, _, _ in events) == {
        "registered_model.created": REGISTRIES * MODELS,
        "model_version.created": REGISTRIES * MODELS * VERSIONS_PER_MODEL,
        "deployment.observed": REGISTRIES * MODELS,
    }
    # Governance's reaction, once per subject: an unowned model serving production opens one finding.
    subjects = list(Finding.objects.values_list("kind", "subject_type", "subject_id"))
    assert len(subjects) == len(set(subjects))
    assert verify_chain().ok


def test_two_workers_sync_a_burst_of_twenty_registries_once_per_tick_even_when_the_tick_fires_twice(
    redis_broker, mlflow_server, celery_procs
):
    populate(mlflow_server.url)
    registries = burst_of_registries(mlflow_server.url)
    workers = [celery_procs.worker(pool="prefork") for _ in range(2)]

    # One window, the tick delivered twice.
    sync_due_registries.delay()
    sync_due_registries.delay()
    wait_for(
        lambda: SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).count() >= REGISTRIES,
        timeout=BURST_TIMEOUT, what="every registry to be synced", watch=tuple(workers),
    )  # fmt: skip
    # Every task either tick sent has run (the doubles were skipped), and nothing waits or is in flight.
    wait_for(
        lambda: redis_broker.llen("registry") == 0 and redis_broker.hlen("unacked") == 0,
        timeout=30, what="the broker to be drained",
    )  # fmt: skip

    runs = SyncRun.objects.all()
    assert Counter(runs.values_list("registry", flat=True)) == {r.pk: 1 for r in registries}  # once per tick
    assert set(runs.values_list("status", flat=True)) == {SyncStatus.SUCCEEDED}
    assert {(r.created, r.versions_seen, r.deployments_started) for r in runs} == {
        (MODELS + MODELS * VERSIONS_PER_MODEL, MODELS * VERSIONS_PER_MODEL, MODELS)
    }
    # The burst was shared: each worker ran syncs.
    per_worker = [len(sync_tasks_succeeded(w)) for w in workers]
    assert all(n > 0 for n in per_worker), per_worker
    assert_nothing_doubled(registries)

    # Fired again in the same window: nothing is due, nothing runs.
    audit_count = AuditEvent.objects.count()
    sync_due_registries.delay()
    sync_due_registries.delay()
    wait_for(
        lambda: sum("projects.tasks.sync_due_registries" in line and "succeeded" in line
                    for w in workers for line in w.read_log().splitlines()) == 4,
        timeout=30, what="the two extra ticks to run",
    )  # fmt: skip
    assert SyncRun.objects.count() == REGISTRIES

    # The next window: one more sync per registry, and (nothing changed) no new row or audit event.
    SyncRun.objects.update(started_at=timezone.now() - dt.timedelta(seconds=600))
    sync_due_registries.delay()
    sync_due_registries.delay()
    wait_for(
        lambda: SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).count() >= 2 * REGISTRIES,
        timeout=BURST_TIMEOUT, what="the next window's syncs", watch=tuple(workers),
    )  # fmt: skip
    wait_for(
        lambda: redis_broker.llen("registry") == 0 and redis_broker.hlen("unacked") == 0,
        timeout=30, what="the broker to be drained",
    )  # fmt: skip
    assert Counter(SyncRun.objects.values_list("registry", flat=True)) == {r.pk: 2 for r in registries}
    latest = SyncRun.objects.filter(started_at__gt=timezone.now() - dt.timedelta(seconds=300))
    assert {(r.created, r.updated, r.unchanged) for r in latest} == {(0, 0, MODELS * VERSIONS_PER_MODEL)}
    assert AuditEvent.objects.count() == audit_count
    assert_nothing_doubled(registries)


def _pg(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _backends_waiting_on_the_chain() -> list[int]:
    return [
        pid
        for (pid,) in _pg(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [PG_CHAIN_LOCK_KEY],
        )
    ]


# Production's ordering scaled down: the broker's visibility timeout (900 s) above the sync lock's TTL
# (330 s) above a sync's hard time limit (300 s). Here: 10 s > 5 s > the ~0.5 s a sync of these takes.
RECOVERY_ENV = {
    "KEEL_BROKER_VISIBILITY_TIMEOUT": "10",
    "KEEL_BROKER_RESTORE_INTERVAL_SECONDS": "1",
    "KEEL_SYNC_LOCK_TTL_SECONDS": "5",
}


@pytest.mark.postgres_only
def test_a_worker_killed_mid_burst_loses_nothing(redis_broker, mlflow_server, celery_procs):
    """Both workers are caught inside a sync transaction (this test holds the audit chain's advisory lock,
    which each sync takes to append its events), then one is SIGKILLed there. The other finishes the burst,
    and then, once the visibility timeout has passed, gets the killed worker's unacknowledged task back:
    the dead sync's row is closed as abandoned and the registry is synced, once."""
    populate(mlflow_server.url)
    registries = burst_of_registries(mlflow_server.url)
    first, second = (celery_procs.worker(pool="prefork", env=RECOVERY_ENV) for _ in range(2))

    _pg("SELECT pg_advisory_lock(%s)", [PG_CHAIN_LOCK_KEY])
    try:
        sync_due_registries.delay()
        wait_for(
            lambda: len(_backends_waiting_on_the_chain()) == 2,
            timeout=60, what="both workers to reach the audit trail mid-sync", watch=(first, second),
        )  # fmt: skip
        first.kill()
    finally:
        _pg("SELECT pg_advisory_unlock(%s)", [PG_CHAIN_LOCK_KEY])

    # Killed within seconds of the tick (well inside the 10 s visibility timeout): its sync is still
    # "running", nothing of it was committed, and its message is unacknowledged.
    killed_task = RECEIVED_LINE.findall(first.read_log())[-1]
    killed = SyncRun.objects.get(task_id=killed_task)
    assert killed.status == SyncStatus.RUNNING
    assert not RegisteredModel.objects.filter(registry=killed.registry).exists()
    assert killed_task.encode() in b"".join(redis_broker.hvals("unacked"))

    # The other worker syncs the rest of the burst, and then gets the killed worker's task back.
    done = wait_for(
        lambda: SyncRun.objects.filter(registry=killed.registry, status=SyncStatus.SUCCEEDED).first(),
        timeout=BURST_TIMEOUT, what="the burst and the killed worker's redelivered sync", watch=(second,),
    )  # fmt: skip
    wait_for(
        lambda: SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).count() == REGISTRIES,
        timeout=BURST_TIMEOUT, what="every registry to be synced", watch=(second,),
    )  # fmt: skip
    wait_for(
        lambda: redis_broker.hlen("unacked") == 0 and redis_broker.llen("registry") == 0,
        timeout=15, what="the message to be acknowledged",
    )  # fmt: skip

    killed.refresh_from_db()
    assert (killed.status, killed.error) == (SyncStatus.ABANDONED, "worker stopped mid-sync")
    assert done.task_id == killed.task_id  # the same message, delivered again
    assert killed.task_id in sync_tasks_succeeded(second)
    assert Counter(SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).values_list("registry", flat=True)) == {
        r.pk: 1 for r in registries
    }
    assert_nothing_doubled(registries)
