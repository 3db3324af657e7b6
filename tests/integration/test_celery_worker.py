"""A real Celery worker and beat, as separate processes, against the test database and broker."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from django.utils import timezone

from core.models import Heartbeat
from core.tasks import heartbeat
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK_TIMEOUT = 60  # seconds an enqueued task may take to be run
HEARTBEAT_SECONDS = "2"  # beat schedule of core.tasks.heartbeat in the child processes
STALE_SECONDS = 5  # /healthz staleness limit in this test process


def _parent_pid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid in /proc/{pid}/status")


def _detail_pid(detail: str) -> int:
    host, _, pid = detail.rpartition(":")
    assert host == socket.gethostname(), detail
    return int(pid)


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_worker_runs_a_task_enqueued_by_this_process(celery_procs, pool):
    worker = celery_procs.worker(pool=pool)
    # The worker_ready signal has recorded a heartbeat; remove it so only the task's run can put one back.
    Heartbeat.objects.all().delete()
    enqueued_at = timezone.now()

    result = heartbeat.delay()

    beat = wait_for(
        lambda: Heartbeat.objects.filter(name=Heartbeat.WORKER).first(),
        timeout=TASK_TIMEOUT,
        what=f"the worker to run core.tasks.heartbeat[{result.id}]",
        watch=(worker,),
    )
    assert enqueued_at <= beat.at <= timezone.now()
    assert (timezone.now() - beat.at).total_seconds() < TASK_TIMEOUT
    pid = _detail_pid(beat.detail)
    if pool == "solo":
        assert pid == worker.pid
    else:  # prefork runs tasks in a pool child of the worker process
        assert _parent_pid(pid) == worker.pid
    # It was this task, not some leftover message, that the worker ran.
    wait_for(
        lambda: f"core.tasks.heartbeat[{result.id}] succeeded" in worker.read_log(),
        timeout=10,
        what="the worker to log the task's success",
        watch=(worker,),
    )


def _health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()


def test_healthz_follows_a_real_worker_and_beat(celery_procs, client, settings, admin_user):
    client.force_login(admin_user)  # admins see which host and process answered
    settings.KEEL_HEARTBEAT_STALE_SECONDS = STALE_SECONDS
    env = {"KEEL_HEARTBEAT_SECONDS": HEARTBEAT_SECONDS}
    worker = celery_procs.worker(pool="solo", env=env)
    beat = celery_procs.beat(env=env)
    started = time.monotonic()

    # Healthy, and still healthy once the start-up heartbeats (worker_ready, beat_init) would be stale:
    # from then on only beat's ticks and the worker running the scheduled tasks keep /healthz at 200.
    def healthy_on_ticks_alone():
        status, body = _health(client)
        return status == 200 and time.monotonic() - started > STALE_SECONDS + 1 and body

    body = wait_for(healthy_on_ticks_alone, timeout=STALE_SECONDS + 40, what="/healthz to be 200", watch=(worker, beat))
    assert body["status"] == "ok"
    assert {name: body[name]["ok"] for name in ("database", "broker", "worker", "beat")} == {
        "database": True,
        "broker": True,
        "worker": True,
        "beat": True,
    }
    assert body["worker"]["where"] == f"{socket.gethostname()}:{worker.pid}"
    assert body["beat"]["where"] == f"{socket.gethostname()}:{beat.pid}"
    assert "Sending due task keel-heartbeat (core.tasks.heartbeat)" in beat.read_log()
    assert "core.tasks.heartbeat[" in worker.read_log()

    worker.kill()

    def unhealthy():
        status, body = _health(client)
        return status == 503 and body

    body = wait_for(unhealthy, timeout=STALE_SECONDS + 20, what="/healthz to be 503 without a worker", watch=(beat,))
    checks = body
    assert body["status"] == "unavailable"
    assert checks["worker"]["ok"] is False
    assert f"limit {STALE_SECONDS} s" in checks["worker"]["error"]
    assert checks["worker"]["age_seconds"] >= STALE_SECONDS  # rounded to 0.1 s
    # Only the worker is missing: beat keeps ticking and the broker keeps taking its messages.
    assert checks["beat"]["ok"] is True
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is True
