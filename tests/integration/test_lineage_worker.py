"""Lineage posted through the API is applied by a real Celery worker: the POST stores and answers, the
worker (asked by the POST, debounced) applies the queue in batches until nothing waits."""

from __future__ import annotations

import json

import pytest

from governance.lineage.queue import queue_status
from governance.models import AuditEvent, Dataset, LineageEdge, LineageEvent, Run
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

APPLY_TIMEOUT = 60  # seconds for the worker to start on the queue and drain it
PG = "postgres://db.example:5432"
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_event(n: int, event_type: str) -> dict:
    return {
        "eventType": event_type,
        "eventTime": f"2026-05-01T10:{n % 60:02d}:{0 if event_type == 'START' else 30:02d}Z",
        "producer": "https://example.org/etl",
        "schemaURL": RUN_EVENT_URL,
        "run": {"runId": f"0196a1f0-0000-7000-8000-{n:012d}"},
        "job": {"namespace": "etl", "name": f"copy-{n}"},
        "inputs": [{"namespace": PG, "name": "crm.customers"}],
        "outputs": [{"namespace": PG, "name": f"mart.copy_{n}"}],
    }


def test_a_real_worker_applies_what_the_api_stored(celery_procs, client, team_lead, settings):
    settings.KEEL_LINEAGE_APPLY_INLINE = False
    worker = celery_procs.worker(pool="solo")
    client.force_login(team_lead)
    bodies = [run_event(n, kind) for n in range(20) for kind in ("START", "COMPLETE")]

    for body in bodies:
        response = client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "accepted"

    wait_for(
        lambda: queue_status().pending == 0,
        timeout=APPLY_TIMEOUT,
        what="the worker to apply every stored lineage event",
        watch=(worker,),
    )
    assert not LineageEvent.objects.exclude(apply_error="").exists()
    assert Run.objects.count() == 20
    assert set(Run.objects.values_list("state", flat=True)) == {"COMPLETE"}
    assert Dataset.objects.count() == 21
    assert LineageEdge.objects.count() == 20
    applied = [pk for a in AuditEvent.objects.filter(action="lineage.applied") for pk in a.after["events"]]
    assert sorted(applied) == sorted(LineageEvent.objects.values_list("pk", flat=True))
    assert queue_status().last_applied_at is not None
    assert "governance.tasks.apply_lineage" in worker.read_log()
