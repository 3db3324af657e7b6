"""Store-and-acknowledge ingest and the batched applier (governance/lineage/{receive,queue,apply}.py).

A POST stores one row and answers; the applier takes waiting events in id order, in batches, one at a
time (a lease), and the graph it leaves is the one sequential ingest leaves, however the events were
batched. The test session applies inline (tests/conftest.py); these tests turn that off.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.lineage import queue
from governance.lineage.apply import lineage_apply_pending
from governance.lineage.ingest import lineage_event_ingest
from governance.lineage.receive import receive
from governance.lineage.signals import lineage_changed
from governance.models import (
    AuditEvent,
    ColumnEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DataSource,
    Job,
    LineageApplyLease,
    LineageEdge,
    LineageEvent,
    Run,
)
from tests.lineage_events import PG, RUN_EVENT_URL, event, load, post
from tests.query_counts import assert_queries, capture_queries

pytestmark = pytest.mark.django_db


def dbt(name: str, run_id: str) -> dict:
    body = copy.deepcopy(load(f"dbt_csv_to_postgres/{name}/column_lineage_event.json"))
    return {**body, "eventTime": "2025-06-01T10:00:00Z", "producer": "https://example.org/dbt",
            "schemaURL": RUN_EVENT_URL, "run": {"runId": run_id}}  # fmt: skip


def sequence() -> list[dict]:
    """Real events that touch every rule: a run's START then COMPLETE, a late START, column lineage over
    two hops, symlinks, a job event, a dataset event, facets replaced and deleted."""
    start, complete = load("airflow/line_02.json"), load("airflow/line_03.json")
    deleted = event(
        run={"runId": "0196a1f0-0000-7000-8000-00000000000c"},
        outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"documentation": {"_deleted": True}}}],
    )
    documented = event(
        outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"documentation": {
            "_producer": "p", "_schemaURL": "s", "description": "Customers"}}}],
    )  # fmt: skip
    return [
        start, complete, start,  # the late START is a duplicate of the first: one row, a no-op
        dbt("customers", "0196a1f0-0000-7000-8000-0000000000d1"),
        dbt("analytics", "0196a1f0-0000-7000-8000-0000000000d2"),
        load("spark_dataproc_simple_producer_test/4.json"),
        event(run={"runId": "0196a1f0-0000-7000-8000-00000000000b"},
              outputs=[{"namespace": "hive://dataproc-producer-test-m:9083", "name": "default.t2"}]),
        load("core/serde_example_job_event.json"),
        load("core/serde_example_dataset_event.json"),
        documented, deleted,
    ]  # fmt: skip


def snapshot() -> dict:
    """The graph by natural keys (ids differ between runs)."""
    return {
        "sources": sorted(DataSource.objects.values_list("namespace", "name")),
        "jobs": sorted((j.namespace, j.name, json.dumps(j.facets, sort_keys=True)) for j in Job.objects.all()),
        "runs": sorted(
            (r.run_id, r.job.name, r.state, r.started_at, r.ended_at, json.dumps(r.facets, sort_keys=True))
            for r in Run.objects.select_related("job")
        ),
        "datasets": sorted(
            (d.namespace, d.name, d.dataset_type, json.dumps(d.facets, sort_keys=True), json.dumps(d.symlinks))
            for d in Dataset.objects.all()
        ),
        "fields": sorted(DatasetField.objects.values_list("dataset__name", "name", "data_type", "description")),
        "symlinks": sorted(DatasetSymlink.objects.values_list("dataset__name", "namespace", "name")),
        "edges": sorted(
            LineageEdge.objects.values_list(
                "job__name", "source__name", "target__name", "has_column_lineage", "indirect", "last_run__run_id"
            )
        ),
        "column_edges": sorted(
            ColumnEdge.objects.values_list(
                "job__name",
                "source_field__dataset__name",
                "source_field__name",
                "target_field__dataset__name",
                "target_field__name",
                "transformation_type",
                "subtype",
                "masking",
                "description",
            )
        ),
    }


class Rollback(Exception):
    pass


def graph_after(apply) -> dict:
    """The snapshot `apply()` leaves, rolled back afterwards so the next mode starts from nothing."""
    from django.db import transaction

    try:
        with transaction.atomic():
            apply()
            taken = snapshot()
            raise Rollback
    except Rollback:
        return taken


@pytest.fixture
def queued(settings, monkeypatch):
    """POSTs store and ask a worker; the test plays the worker. Returns the list of schedule requests."""
    settings.KEEL_LINEAGE_APPLY_INLINE = False
    asked: list[int] = []
    monkeypatch.setattr(queue, "schedule_apply", lambda: asked.append(1))
    monkeypatch.setitem(queue._recent, "status", None)  # a POST's answer carries a status up to 1 s old
    return asked


# --- receive ----------------------------------------------------------------------------------------


def test_a_post_stores_one_row_answers_and_asks_a_worker(client, team_lead, queued):
    client.force_login(team_lead)
    audit_before = AuditEvent.objects.count()

    with capture_queries() as captured:
        response = post(client, event())

    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["status"], answer["applied"], answer["counts"]) == ("accepted", False, {})
    assert answer["queue"]["pending"] == 1
    assert answer["queue"]["oldest_age_seconds"] is not None
    writes = [s for s in captured.count.sql if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) == 1, writes
    assert "governance_lineageevent" in writes[0]
    stored = LineageEvent.objects.get()
    assert stored.applied_at is None
    assert stored.received_by == team_lead
    assert (Dataset.objects.count(), Job.objects.count(), AuditEvent.objects.count()) == (0, 0, audit_before)
    assert queued == [1]


def test_a_duplicate_of_a_waiting_event_is_stored_once(client, team_lead, queued):
    client.force_login(team_lead)
    assert post(client, event()).status_code == 201

    again = post(client, event())

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert LineageEvent.objects.count() == 1


def test_the_status_api_says_how_far_behind_the_graph_is(client, team_lead, executive, queued):
    client.force_login(team_lead)
    post(client, event())
    post(client, event(eventType="START"))
    client.force_login(executive)  # every reader may see it

    waiting = client.get("/api/v1/lineage/status").json()
    lineage_apply_pending()
    caught_up = client.get("/api/v1/lineage/status").json()

    assert waiting["pending"] == 2
    assert waiting["oldest_age_seconds"] >= 0
    assert waiting["last_applied_at"] is None
    assert caught_up["pending"] == 0
    assert caught_up["oldest_age_seconds"] is None
    assert caught_up["last_applied_at"] is not None


def test_the_queue_partial_says_how_many_wait_and_for_how_long(team_lead, queued):
    from django.template.loader import render_to_string

    assert "up to date" in render_to_string(
        "governance/partials/lineage_queue.html", {"lineage_queue": queue.queue_status()}
    )
    receive(payload=event(), by=team_lead)

    text = render_to_string("governance/partials/lineage_queue.html", {"lineage_queue": queue.queue_status()})

    assert "<strong>1</strong> lineage event waiting to be applied, the oldest received" in text


# --- apply ------------------------------------------------------------------------------------------


def test_any_batching_gives_the_graph_sequential_ingest_gives(team_lead, queued):
    def one_by_one():
        for body in sequence():
            lineage_event_ingest(payload=body, by=team_lead)

    def batched(size):
        def run():
            for body in sequence():
                receive(payload=body, by=team_lead)
            report = lineage_apply_pending(max_batch=size)
            assert not report.refused
            assert not LineageEvent.objects.filter(applied_at__isnull=True).exists()

        return run

    expected = graph_after(one_by_one)

    assert expected["runs"][0][2] == "COMPLETE"  # the late START did not reopen the run
    assert any(edge[3] for edge in expected["edges"])  # column lineage was seen
    for size in (1, 2, 3, 500):
        assert graph_after(batched(size)) == expected, f"batches of {size}"


def test_start_and_complete_of_one_run_merge_in_one_batch_in_either_order(team_lead, queued):
    start, complete = load("airflow/line_02.json"), load("airflow/line_03.json")
    receive(payload=complete, by=team_lead)  # the COMPLETE arrived first
    receive(payload=start, by=team_lead)

    lineage_apply_pending()

    run = Run.objects.get()
    assert run.state == "COMPLETE"
    assert run.started_at.isoformat() == "2024-11-26T13:05:25.547948+00:00"
    assert run.ended_at.isoformat() == "2024-11-26T13:05:29.606867+00:00"
    assert {"nominalTime", "externalQuery"} <= run.facets.keys()


def test_one_batch_is_one_audit_event_naming_each_event_and_its_sender(team_lead, admin_user, queued):
    first = receive(payload=event(), by=team_lead).event
    other = event(job={"namespace": "etl", "name": "other"}, run={"runId": "0196a1f0-0000-7000-8000-0000000000ff"})
    second = receive(payload=other, by=admin_user).event

    lineage_apply_pending()

    entry = AuditEvent.objects.get(action="lineage.applied")
    assert entry.after["events"] == [first.pk, second.pk]
    assert entry.after["senders"] == {team_lead.get_username(): [first.pk], admin_user.get_username(): [second.pk]}
    assert entry.actor_id is None  # two senders: Keel applied them
    assert entry.after["counts"]["datasets_created"] == 2


def test_a_run_id_taken_by_another_job_refuses_that_event_alone(team_lead, queued):
    good = receive(payload=event(), by=team_lead).event
    # Two requests raced: both were stored before either was applied (receive refuses the second otherwise).
    clash = event(job={"namespace": "etl", "name": "other"}, eventTime="2025-06-01T11:00:00Z")
    raced = LineageEvent.objects.create(
        event_hash="f" * 64, kind="run", event_type="COMPLETE", event_time=timezone.now(), run_id=clash["run"]["runId"],
        job_namespace="etl", job_name="other", producer="p", schema_url=RUN_EVENT_URL, spec_major=2, payload=clash,
    )  # fmt: skip
    after = receive(payload=event(run={"runId": "0196a1f0-0000-7000-8000-00000000000d"},
                                  outputs=[{"namespace": PG, "name": "mart.orders"}]), by=team_lead).event  # fmt: skip

    report = lineage_apply_pending()

    assert set(report.refused) == {raced.pk}
    raced.refresh_from_db()
    assert raced.applied_at is not None
    assert "already belongs to job etl/daily" in raced.apply_error
    assert not Job.objects.filter(name="other").exists()
    assert Dataset.objects.filter(name="mart.orders").exists()  # the event after it was applied
    assert AuditEvent.objects.get(action="lineage.refused").after["reason"] == raced.apply_error
    assert AuditEvent.objects.get(action="lineage.applied").after["events"] == [good.pk, after.pk]


def test_an_event_a_receiver_refuses_is_set_aside_and_the_rest_of_its_batch_applied(team_lead, queued):
    def refuse_orders(sender, dataset_ids, **kwargs):
        from core.errors import DomainError

        if Dataset.objects.filter(pk__in=dataset_ids, name="mart.orders").exists():
            raise DomainError("orders are not welcome", code="test_refusal")

    lineage_changed.connect(refuse_orders, dispatch_uid="test-refuse-orders")
    try:
        kept = receive(payload=event(), by=team_lead).event
        orders = event(
            run={"runId": "0196a1f0-0000-7000-8000-00000000000e"}, outputs=[{"namespace": PG, "name": "mart.orders"}]
        )
        refused = receive(payload=orders, by=team_lead).event
        report = lineage_apply_pending()
    finally:
        lineage_changed.disconnect(dispatch_uid="test-refuse-orders")

    assert set(report.refused) == {refused.pk}
    assert LineageEvent.objects.get(pk=refused.pk).apply_error == "orders are not welcome"
    assert LineageEvent.objects.get(pk=kept.pk).apply_error == ""
    assert set(Dataset.objects.values_list("name", flat=True)) == {"crm.customers", "mart.customers"}


def test_a_refused_event_sent_again_is_applied_again(team_lead, queued):
    body = event()
    stored = receive(payload=body, by=team_lead).event
    LineageEvent.objects.filter(pk=stored.pk).update(applied_at=timezone.now(), apply_error="refused before")

    again = receive(payload=body, by=team_lead)

    assert again.status == "accepted"
    assert LineageEvent.objects.filter(applied_at__isnull=True, apply_error="").count() == 1


def test_the_lease_lets_one_applier_at_a_time_and_a_dead_ones_lease_expires(team_lead, queued):
    receive(payload=event(), by=team_lead)
    assert queue.lease_acquire("another worker")

    assert lineage_apply_pending() is None  # the other holds it
    assert LineageEvent.objects.get().applied_at is None

    LineageApplyLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # it died
    report = lineage_apply_pending()

    assert report is not None
    assert report.applied == 1
    assert LineageApplyLease.objects.get().holder == ""  # released


def test_events_are_applied_in_id_order_across_batches(team_lead, queued):
    for n in range(5):
        receive(payload=event(run={"runId": f"0196a1f0-0000-7000-8000-00000000010{n}"},
                              eventTime=f"2025-06-01T1{n}:00:00Z"), by=team_lead)  # fmt: skip

    report = lineage_apply_pending(max_batch=2)

    assert [b.event_ids for b in report.batches] == [
        list(ids) for ids in (LineageEvent.objects.order_by("id").values_list("id", flat=True)[i : i + 2]
                              for i in (0, 2, 4))
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="lineage.applied").count() == 3


def test_the_worker_lets_a_small_batch_gather_the_events_that_arrive_meanwhile(team_lead, queued, monkeypatch):
    """A batch has a fixed cost: the worker waits (up to `gather` seconds) for a share of a full batch (a half
    on SQLite, a quarter on PostgreSQL) before applying a handful, so events that arrive meanwhile go in the
    same batch."""
    from governance.lineage import apply

    def run(n: int) -> dict:
        return event(run={"runId": f"0196a1f0-0000-7000-8000-00000000020{n}"}, eventTime=f"2025-06-01T1{n}:00:00Z")

    receive(payload=run(0), by=team_lead)
    arriving = iter([run(1), run(2), run(3)])
    naps: list[float] = []

    def nap(seconds: float) -> None:  # while the worker waits, another POST is stored
        naps.append(seconds)
        if (payload := next(arriving, None)) is not None:
            receive(payload=payload, by=team_lead)

    monkeypatch.setattr(apply.time, "sleep", nap)
    size = next(n for n in range(1, 100) if apply.gather_target(n) == 4)  # a batch size for which it waits for 4
    report = lineage_apply_pending(max_batch=size, gather=60.0)

    assert [len(b.event_ids) for b in report.batches] == [4]
    assert len(naps) == 3
    # Without `gather` (a request applying inline), whatever waits is applied at once.
    receive(payload=run(4), by=team_lead)
    assert [len(b.event_ids) for b in lineage_apply_pending(max_batch=size).batches] == [1]
    assert len(naps) == 3


def test_a_stream_that_pauses_is_applied_at_once_not_after_the_gather_time(team_lead, queued, monkeypatch):
    """The worker gathers only while events keep arriving: one look that finds nothing new ends the wait,
    so the last events of a burst are not left waiting `gather` seconds."""
    from governance.lineage import apply

    def run(n: int) -> dict:
        return event(run={"runId": f"0196a1f0-0000-7000-8000-00000000030{n}"}, eventTime=f"2025-06-01T1{n}:00:00Z")

    receive(payload=run(0), by=team_lead)
    arriving = iter([run(1)])  # one more arrives during the first look, then the stream stops
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if (payload := next(arriving, None)) is not None:
            receive(payload=payload, by=team_lead)

    monkeypatch.setattr(apply.time, "sleep", nap)
    report = lineage_apply_pending(max_batch=400, gather=60.0)  # would wait for 100 or more

    assert [len(b.event_ids) for b in report.batches] == [2]
    assert naps == [apply.GATHER_POLL_SECONDS] * 2  # the second look found nothing new


# --- what the graph's readers are told --------------------------------------------------------------


def test_lineage_changed_names_new_edges_apart_from_changed_datasets(team_lead, queued):
    lineage_event_ingest(payload=event(), by=team_lead)  # crm.customers -> mart.customers
    calls = []

    def receiver(sender, dataset_ids, added_edges=(), **kwargs):
        calls.append((set(dataset_ids), set(added_edges)))

    lineage_changed.connect(receiver, dispatch_uid="test-added-edges")
    try:
        orders = event(
            run={"runId": "0196a1f0-0000-7000-8000-00000000000f"}, outputs=[{"namespace": PG, "name": "mart.orders"}]
        )
        lineage_event_ingest(payload=orders, by=team_lead)
    finally:
        lineage_changed.disconnect(dispatch_uid="test-added-edges")

    source, orders = (Dataset.objects.get(name=n).pk for n in ("crm.customers", "mart.orders"))
    # The source only gained an outgoing edge: not "changed", so its existing downstream is not revisited.
    assert calls == [({orders}, {(source, orders)})]


def test_an_input_the_column_lineage_does_not_name_is_an_indirect_edge(team_lead, queued):
    lineage = {"_producer": "p", "_schemaURL": "s", "fields": {"email": {"inputFields": [
        {"namespace": PG, "name": "crm.customers", "field": "email",
         "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}},
        "dataset": [{"namespace": PG, "name": "crm.regions", "field": "region_id",
                     "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]}  # fmt: skip
    body = event(
        inputs=[{"namespace": PG, "name": n} for n in ("crm.customers", "crm.orders", "crm.regions")],
        outputs=[
            {"namespace": PG, "name": "mart.contacts", "facets": {"columnLineage": lineage}},
            {"namespace": PG, "name": "mart.raw_copy"},  # no columnLineage facet: the unverified fallback
        ],
    )

    lineage_event_ingest(payload=body, by=team_lead)

    edges = {(e.source.name, e.target.name): (e.has_column_lineage, e.indirect)
             for e in LineageEdge.objects.select_related("source", "target")}  # fmt: skip
    assert edges[("crm.customers", "mart.contacts")] == (True, False)  # named field by field
    assert edges[("crm.orders", "mart.contacts")] == (False, True)  # read only to join: named nowhere
    assert edges[("crm.regions", "mart.contacts")] == (True, True)  # only in the dataset-wide entries
    assert edges[("crm.customers", "mart.raw_copy")] == (False, False)
    assert edges[("crm.orders", "mart.raw_copy")] == (False, False)


# --- size and cost ----------------------------------------------------------------------------------


def _jobs(count: int, offset: int) -> list[dict]:
    columns = {"_producer": "p", "_schemaURL": "s", "fields": [{"name": c, "type": "text"} for c in ("id", "email")]}
    out = []
    for n in range(offset, offset + count):
        lineage = {"_producer": "p", "_schemaURL": "s", "fields": {c: {"inputFields": [
            {"namespace": PG, "name": f"raw.t{n}", "field": c,
             "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]} for c in ("id", "email")}}  # fmt: skip
        out.append(event(
            run={"runId": f"0196a1f0-0000-7000-8000-{n:012d}"}, job={"namespace": "etl", "name": f"job-{n}"},
            inputs=[{"namespace": PG, "name": f"raw.t{n}", "facets": {"schema": columns}}],
            outputs=[{"namespace": PG, "name": f"mart.t{n}", "facets": {"schema": columns, "columnLineage": lineage}}],
        ))  # fmt: skip
    return out


def test_a_batch_of_200_events_takes_about_the_queries_of_a_batch_of_1(team_lead, queued):
    receivers = lineage_changed.receivers
    lineage_changed.receivers = []  # the writer's queries; propagation pins its own (test_pii_query_counts)
    lineage_changed.sender_receivers_cache.clear()
    try:
        counts = []
        for body in _jobs(1, 9000):  # the first batch ever also creates the lease row and the audit chain head
            receive(payload=body, by=team_lead)
        lineage_apply_pending()
        for size, offset in ((1, 0), (200, 1000), (1, 2000), (200, 3000)):
            for body in _jobs(size, offset):
                receive(payload=body, by=team_lead)
            with capture_queries() as captured:
                report = lineage_apply_pending()
            assert report.applied == size
            counts.append(captured.count)
    finally:
        lineage_changed.receivers = receivers
        lineage_changed.sender_receivers_cache.clear()

    # 200 events create 400 datasets, 800 fields, 200 jobs, runs, edges, 400 column edges. Reads and updates
    # are the same statements however many events; only where Django splits a bulk INSERT below SQLite's
    # parameter limit are there a few more INSERT statements — never one per event.
    def not_inserts(count):
        return [s for s in count.sql if not s.startswith("INSERT")]

    assert len(not_inserts(counts[1])) == len(not_inserts(counts[0])), (int(counts[0]), int(counts[1]))
    assert counts[1] <= counts[0] + 10
    assert_queries(counts[0], counts[2], what="a batch of 1, with and without earlier events")
    assert len(not_inserts(counts[3])) == len(not_inserts(counts[2]))


def test_an_event_with_5000_outputs_is_applied(team_lead, queued):
    body = event(outputs=[{"namespace": PG, "name": f"mart.part_{n:05d}"} for n in range(5000)])
    receive(payload=body, by=team_lead)

    report = lineage_apply_pending()

    assert report.applied == 1
    assert not report.refused
    assert Dataset.objects.count() == 5001
    assert LineageEdge.objects.count() == 5000
    assert LineageEvent.objects.get().applied_at is not None
