"""Producers posting at the same moment, on PostgreSQL: a doubled event is stored once, and events
that create the same new datasets, fields and edges all succeed without duplicates. Each thread has
its own connection and commits its own transaction (transaction=True). Skipped without PostgreSQL
locally; a failure under CI=true."""

from __future__ import annotations

import functools
from collections import Counter

import pytest

from core.roles import Role
from governance.audit.chain import verify_chain
from governance.lineage.ingest import lineage_event_ingest
from governance.models import AuditEvent, ColumnEdge, Dataset, DatasetField, DataSource, LineageEdge, LineageEvent
from tests.concurrency import run_at_once
from tests.factories import make_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PG = "postgres://db.example:5432"
THREADS = 4


def event(i: int) -> dict:
    columns = {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "email"}, {"name": "id"}]}
    lineage = {
        "_producer": "p",
        "_schemaURL": "s",
        "fields": {
            "email": {
                "inputFields": [
                    {
                        "namespace": PG,
                        "name": "crm.customers",
                        "field": "email",
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                ]
            }
        },
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-05-01T10:00:00Z",
        "producer": "https://example.org/etl",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0196a1f0-0000-7000-8000-{i:012d}"},
        "job": {"namespace": "etl", "name": f"copy-{i}"},
        "inputs": [{"namespace": PG, "name": "crm.customers", "facets": {"schema": columns}}],
        "outputs": [
            {"namespace": PG, "name": "mart.customers", "facets": {"schema": columns, "columnLineage": lineage}}
        ],
    }


def ingest_all_at_once(bodies: list[dict], user) -> list:
    def ingest(body: dict) -> str:
        return lineage_event_ingest(payload=body, by=user).status

    return run_at_once([functools.partial(ingest, body) for body in bodies], what="an ingest thread")


def test_the_same_event_posted_at_once_is_stored_once():
    user = make_user("etl-bot", Role.TEAM_LEAD)

    outcomes = ingest_all_at_once([event(1)] * THREADS, user)

    assert Counter(outcomes) == {"accepted": 1, "duplicate": THREADS - 1}, outcomes
    assert LineageEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="lineage.applied").count() == 1
    assert verify_chain().ok


def test_events_creating_the_same_datasets_at_once_all_succeed_without_duplicates():
    user = make_user("etl-bot", Role.TEAM_LEAD)

    outcomes = ingest_all_at_once([event(i) for i in range(THREADS)], user)

    assert outcomes == ["accepted"] * THREADS, outcomes
    assert DataSource.objects.count() == 1
    assert sorted(Dataset.objects.values_list("name", flat=True)) == ["crm.customers", "mart.customers"]
    assert DatasetField.objects.count() == 4
    assert LineageEdge.objects.count() == THREADS  # one per job
    assert ColumnEdge.objects.count() == THREADS
    # One applier at a time: the events were applied in one batch or several, each exactly once.
    applied = [pk for a in AuditEvent.objects.filter(action="lineage.applied") for pk in a.after["events"]]
    assert sorted(applied) == sorted(LineageEvent.objects.values_list("pk", flat=True))
    assert not LineageEvent.objects.filter(applied_at__isnull=True).exists()
    assert verify_chain().ok
