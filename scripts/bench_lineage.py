#!/usr/bin/env python
"""`make bench`: OpenLineage ingest throughput (events/s) for 10,000+ generated job-run events.

One run, bounded (--budget, default 900 s):
  1. builds a throwaway Keel database: SQLite under var/bench/ by default; with DATABASE_URL set, a
     separate database named <name>_bench_lineage on that server (created and dropped here, never the
     configured database itself);
  2. generates --events realistic RunEvents (seeded, reproducible): a layered pipeline (raw -> staging
     -> marts -> features -> training sets -> models) where each job reads 1-3 datasets of the layer
     before and writes 1-3 of its own, every output with a `schema` facet (5-12 columns, PII-ish names
     among them) and a `columnLineage` facet (each output column from 1-2 input columns, DIRECT
     IDENTITY / TRANSFORMATION (some masked) / AGGREGATION and INDIRECT FILTER / JOIN); every job runs
     --runs-per-job times, so later runs take the upsert path;
  3. section "receive": times lineage.receive.receive() for every event (what a POST does before it
     answers: role, hash, duplicate check, validation against the spec schemas, one insert);
  4. section "apply": times lineage_apply_pending(max_batch=--batch) draining what section 3 stored
     (batches of set-based upserts, one audit event and one lineage_changed per batch) with the
     receivers of lineage_changed disconnected: the graph writes alone; "end_to_end" is events over
     receive + apply seconds;
  5. section "sync": --sync-events more through lineage_event_ingest() one at a time (receive and
     apply a batch of one: the demo seed's and the commands' path);
  6. section "duplicates": re-sends --duplicate-events of them (each a no-op);
  7. section "api": --api-events more through POST /api/v1/lineage (Django test Client, in-process;
     the POST stores, the worker's apply is then timed as for section 4);
  8. section "with_receivers": --receiver-events more, received then applied in batches with
     lineage_changed's receivers connected (PII propagation and obligations): ingest as production runs it;
  9. section "fanout" (#18's shape): a source whose `email` column carries a producer `pii` tag, then
     --fanout-events COMPLETE runs each reading it and writing its own 5-column output, received then
     applied with the receivers connected;
 10. prints a table and writes var/bench/lineage_ingest_<vendor>.json.

Other sections (e.g. propagation on the resulting graph) can be added to main() between "ingest" and
the report, reusing the database it leaves. Run it with `make bench`, or
`.venv/bin/python scripts/bench_lineage.py --help`; `DATABASE_URL=postgres://... ` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from pathlib import Path

import benchkit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from core.roles import Role
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
    Job,
    LineageEdge,
    LineageEvent,
    Run,
)

LAYERS = ("raw", "staging", "mart", "features", "training", "model")
NAMESPACES = ("postgres://warehouse:5432", "s3://lake", "bigquery", "snowflake://acme-prod")
COLUMNS = (
    "id", "customer_id", "email", "name", "phone", "address", "birth_date", "iban", "country", "city",
    "amount", "currency", "created_at", "updated_at", "status", "segment", "score", "label", "device_id",
    "ip_address", "order_id", "product_id", "quantity", "price", "discount", "channel", "session_id",
)  # fmt: skip
TRANSFORMATIONS = (
    ("DIRECT", "IDENTITY", False, 50),
    ("DIRECT", "TRANSFORMATION", False, 15),
    ("DIRECT", "TRANSFORMATION", True, 10),
    ("DIRECT", "AGGREGATION", False, 10),
    ("INDIRECT", "FILTER", False, 10),
    ("INDIRECT", "JOIN", False, 5),
)
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/spark"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_URL = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
CLL_URL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
STATS_URL = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"


# --- the generated pipeline ---------------------------------------------------------------------


class Pipeline:
    """A seeded, layered graph of datasets and the jobs between layers; events are runs of the jobs."""

    def __init__(self, *, jobs: int, datasets_per_layer: int, seed: int = 7):
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.rng = rng
        self.datasets: list[list[tuple[str, str, list[str]]]] = []
        for layer in LAYERS:
            row = []
            for i in range(datasets_per_layer):
                namespace = NAMESPACES[i % len(NAMESPACES)]
                columns = rng.sample(COLUMNS, rng.randint(5, 12))
                row.append((namespace, f"{layer}.table_{i:05d}", columns))
            self.datasets.append(row)
        self.jobs = []
        for j in range(jobs):
            layer = 1 + j % (len(LAYERS) - 1)
            inputs = rng.sample(self.datasets[layer - 1], rng.randint(1, 3))
            outputs = rng.sample(self.datasets[layer], rng.randint(1, 3))
            lineage = {}
            for ns, name, columns in outputs:
                fields = {}
                for column in columns:
                    picks = []
                    for _ in range(rng.randint(1, 2)):
                        src_ns, src_name, src_columns = rng.choice(inputs)
                        kind, subtype, masking, _ = rng.choices(TRANSFORMATIONS, [t[3] for t in TRANSFORMATIONS])[0]
                        picks.append(
                            {
                                "namespace": src_ns,
                                "name": src_name,
                                "field": rng.choice(src_columns),
                                "transformations": [{"type": kind, "subtype": subtype, "masking": masking}],
                            }
                        )
                    fields[column] = {"inputFields": picks}
                lineage[(ns, name)] = fields
            self.jobs.append((f"{LAYERS[layer]}_job_{j:05d}", inputs, outputs, lineage))

    def event(self, n: int) -> dict:
        job_index = n % len(self.jobs)
        name, inputs, outputs, lineage = self.jobs[job_index]
        run = n // len(self.jobs)
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
        return {
            "eventType": "COMPLETE",
            "eventTime": when.isoformat(),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT,
            "run": {"runId": f"00000000-0000-4000-8000-{n:012d}", "facets": {}},
            "job": {"namespace": "bench", "name": name, "facets": {}},
            "inputs": [{"namespace": ns, "name": nm, "facets": {}} for ns, nm, _ in inputs],
            "outputs": [
                {
                    "namespace": ns,
                    "name": nm,
                    "facets": {
                        "schema": {
                            "_producer": PRODUCER,
                            "_schemaURL": SCHEMA_URL,
                            "fields": [{"name": c, "type": "varchar"} for c in columns],
                        },
                        "columnLineage": {
                            "_producer": PRODUCER,
                            "_schemaURL": CLL_URL,
                            "fields": lineage[(ns, nm)],
                        },
                    },
                    "outputFacets": {
                        "outputStatistics": {"_producer": PRODUCER, "_schemaURL": STATS_URL, "rowCount": 1000 + run}
                    },
                }
                for ns, nm, columns in outputs
            ],
        }


# --- helpers ------------------------------------------------------------------------------------


def pipeline_user():
    user = get_user_model().objects.create_user("etl-bot")
    user.groups.add(Group.objects.get_or_create(name=Role.TEAM_LEAD)[0])
    return user


def summary(times: list[float], started: float, ended: float) -> dict:
    seconds = ended - started
    return {
        "events": len(times),
        "seconds": round(seconds, 3),
        "events_per_second": round(len(times) / seconds, 1) if seconds else None,
        "ms_per_event": {
            "median": round(statistics.median(times) * 1000, 2),
            "p95": round(benchkit.percentile(times, 95) * 1000, 2),
            "max": round(max(times) * 1000, 2),
        },
    }


def run_ingest(events, user, *, expect: str, call=lineage_event_ingest) -> dict:
    times = []
    started = time.perf_counter()
    for body in events:
        t = time.perf_counter()
        result = call(payload=body, by=user)
        times.append(time.perf_counter() - t)
        if result.status != expect:
            raise RuntimeError(f"expected {expect}, got {result.status}")
    return summary(times, started, time.perf_counter())


def run_apply(batch: int) -> dict:
    """Drain the queue in batches of `batch`; per-batch times, and events/s over the whole drain."""
    waiting = queue.queue_status().pending
    times, sizes = [], []
    started = time.perf_counter()
    while queue.pending_ids(1):
        t = time.perf_counter()
        report = lineage_apply_pending(max_batch=batch, max_batches=1)
        if report is None:
            raise RuntimeError("the apply lease is held by another process")
        times.append(time.perf_counter() - t)
        sizes.append(report.applied)
    seconds = time.perf_counter() - started
    return {
        "events": waiting,
        "batches": len(times),
        "batch_size": batch,
        "seconds": round(seconds, 3),
        "events_per_second": round(waiting / seconds, 1) if seconds else None,
        "ms_per_batch": {"median": round(statistics.median(times) * 1000, 1), "max": round(max(times) * 1000, 1)}
        if times
        else None,
    }


def end_to_end(received: dict, applied: dict) -> dict:
    seconds = received["seconds"] + applied["seconds"]
    return {"events": received["events"], "seconds": round(seconds, 3),
            "events_per_second": round(received["events"] / seconds, 1) if seconds else None}  # fmt: skip


def run_api(events, user) -> dict:
    client = Client()
    client.force_login(user)
    times = []
    started = time.perf_counter()
    for body in events:
        t = time.perf_counter()
        response = client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")
        times.append(time.perf_counter() - t)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/v1/lineage -> {response.status_code}: {response.content[:300]}")
    return summary(times, started, time.perf_counter())


def graph_counts() -> dict:
    return {
        "raw_events": LineageEvent.objects.count(),
        "jobs": Job.objects.count(),
        "runs": Run.objects.count(),
        "datasets": Dataset.objects.count(),
        "fields": DatasetField.objects.count(),
        "dataset_edges": LineageEdge.objects.count(),
        "column_edges": ColumnEdge.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


# --- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events in the main ingest section")
    parser.add_argument("--runs-per-job", type=int, default=2, help="each job runs this often among --events")
    parser.add_argument("--datasets-per-layer", type=int, default=1_500)
    parser.add_argument("--duplicate-events", type=int, default=1_000)
    parser.add_argument("--api-events", type=int, default=1_000)
    parser.add_argument("--receiver-events", type=int, default=500, help="0 skips the with_receivers section")
    parser.add_argument("--sync-events", type=int, default=300, help="0 skips the one-at-a-time section")
    parser.add_argument("--batch", type=int, default=500, help="events per apply batch")
    parser.add_argument("--fanout-events", type=int, default=2000, help="0 skips the fan-out section (#18)")
    parser.add_argument("--budget", type=int, default=900, help="seconds before the run gives up")
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway Keel database")
    parser.add_argument("--output", type=Path, default=None, help="default var/bench/lineage_ingest_<vendor>.json")
    return parser.parse_args()


def _set_receivers(receivers: list) -> None:
    lineage_changed.receivers = receivers
    lineage_changed.sender_receivers_cache.clear()


def run_sections(events: list, user, args, receivers: list) -> dict:
    """Receive then apply in batches (lineage_changed's receivers disconnected), one at a time, duplicates
    (each a no-op), through the HTTP API in-process, then with the receivers (propagation, obligations)."""
    r: dict = {}
    _set_receivers([])
    n, api, sync = args.events, args.api_events, args.sync_events
    r["receive"] = run_ingest(events[:n], user, expect="accepted", call=receive)
    r["apply"] = run_apply(args.batch)
    r["end_to_end"] = end_to_end(r["receive"], r["apply"])
    print(f"  receive: {r['receive']['events_per_second']} events/s, apply: {r['apply']['events_per_second']}"
          f" events/s, end to end: {r['end_to_end']['events_per_second']} events/s", flush=True)  # fmt: skip
    r["graph_after_ingest"] = graph_counts()
    r["sync"] = run_ingest(events[n : n + sync], user, expect="accepted") if sync else None
    if r["sync"]:
        print(f"  sync (one at a time): {r['sync']['events_per_second']} events/s", flush=True)
    r["duplicates"] = run_ingest(events[: args.duplicate_events], user, expect="duplicate", call=receive)
    print(f"  duplicates: {r['duplicates']['events_per_second']} events/s", flush=True)
    r["api"] = run_api(events[n + sync : n + sync + api], user) if api else None
    if r["api"]:
        r["api_apply"] = run_apply(args.batch)
        print(f"  api: {r['api']['events_per_second']} events/s stored", flush=True)
    _set_receivers(receivers)
    r["with_receivers"] = None
    if args.receiver_events:
        received = run_ingest(events[n + sync + api :], user, expect="accepted", call=receive)
        r["with_receivers"] = {**run_apply(args.batch), "receive": received, "receivers": len(receivers)}
        r["with_receivers_end_to_end"] = end_to_end(received, r["with_receivers"])
        print(f"  with {len(receivers)} receiver(s): apply {r['with_receivers']['events_per_second']} events/s,"
              f" end to end {r['with_receivers_end_to_end']['events_per_second']} events/s", flush=True)  # fmt: skip
    r["fanout"] = run_fanout(args.fanout_events, user, args.batch) if args.fanout_events else None
    if r["fanout"]:
        r["fanout_end_to_end"] = r["fanout"].pop("end_to_end")
        print(f"  fan-out: apply {r['fanout']['events_per_second']} events/s, end to end "
              f"{r['fanout_end_to_end']['events_per_second']} events/s", flush=True)  # fmt: skip
    return r


FANOUT_SOURCE = ("postgres://crm:5432", "crm.public.customers")
FANOUT_COLUMNS = ("id", "email", "name", "country", "score")


def fanout_event(n: int) -> dict:
    """#18's shape: a COMPLETE run reading the tagged source and writing its own 5-column output."""
    ns, name = FANOUT_SOURCE
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": SCHEMA_URL,
        "fields": [{"name": c, "type": "text"} for c in FANOUT_COLUMNS],
    }
    lineage = {"_producer": PRODUCER, "_schemaURL": CLL_URL, "fields": {c: {"inputFields": [{
        "namespace": ns, "name": name, "field": c, "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}
        for c in FANOUT_COLUMNS}}  # fmt: skip
    return {
        "eventType": "COMPLETE", "eventTime": "2026-05-01T10:00:00Z", "producer": PRODUCER, "schemaURL": RUN_EVENT,
        "run": {"runId": f"00000000-0000-4000-9000-{n:012d}"}, "job": {"namespace": "fanout", "name": f"features_{n}"},
        "inputs": [{"namespace": ns, "name": name}],
        "outputs": [{"namespace": "s3://lake", "name": f"features/f{n}",
                     "facets": {"schema": schema, "columnLineage": lineage}}],
    }  # fmt: skip


def run_fanout(count: int, user, batch: int) -> dict:
    """The tagged source first (its email column carries a producer `pii` tag), then `count` outputs of it,
    received then applied with the receivers connected: the end-to-end cost of a growing fan-out."""
    ns, name = FANOUT_SOURCE
    fields = [{"name": c, "type": "text"} for c in FANOUT_COLUMNS]
    tag = {"eventTime": "2026-05-01T09:00:00Z", "producer": PRODUCER,
           "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
           "dataset": {"namespace": ns, "name": name, "facets": {
               "schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL, "fields": fields},
               "tags": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json",
                        "tags": [{"key": "pii", "value": "email", "field": "email"}]}}}}  # fmt: skip
    lineage_event_ingest(payload=tag, by=user)
    received = run_ingest([fanout_event(n) for n in range(count)], user, expect="accepted", call=receive)
    applied = run_apply(batch)
    return {**applied, "receive": received, "end_to_end": end_to_end(received, applied)}


def main() -> int:
    args = parse_args()
    t0 = benchkit.start_budget(args.budget)
    db_created = False
    receivers = list(lineage_changed.receivers)
    try:
        vendor, db_name = benchkit.setup_database("lineage")
        db_created = True
        user = pipeline_user()
        jobs = max(1, args.events // max(1, args.runs_per_job))
        pipeline = Pipeline(jobs=jobs, datasets_per_layer=args.datasets_per_layer)
        total = args.events + args.sync_events + args.api_events + args.receiver_events
        events = [pipeline.event(n) for n in range(total)]
        settings.KEEL_LINEAGE_APPLY_INLINE = False  # the POST stores; the sections time the apply
        queue.schedule_apply = lambda: None  # no worker here: run_apply is the worker
        print(
            f"Keel DB: {vendor} {db_name}; {args.events} events over {jobs} jobs, "
            f"{len(LAYERS) * args.datasets_per_layer} datasets in the pool",
            flush=True,
        )
        sections = run_sections(events, user, args, receivers)
        workload = {
            "events": args.events, "jobs": jobs, "runs_per_job": args.runs_per_job,
            "dataset_pool": len(LAYERS) * args.datasets_per_layer, "layers": list(LAYERS),
        }  # fmt: skip
        report = {
            "when": benchkit.now_iso(),
            "machine": benchkit.machine_facts(),
            "database": {"vendor": vendor, "name": str(db_name)},
            "workload": workload,
            **sections,
            "graph_final": graph_counts(),
            "total_seconds": round(time.perf_counter() - t0, 1),
        }
        output = args.output or benchkit.BENCH_DIR / f"lineage_ingest_{vendor}.json"
        benchkit.publish(report, output, print_table)
        return 0
    finally:
        benchkit.stop_budget()
        _set_receivers(receivers)
        if db_created and not args.keep_db:
            benchkit.drop_database()


def print_table(r: dict) -> None:
    g = r["graph_after_ingest"]
    print(
        f"\nLineage ingest benchmark ({r['database']['vendor']}): {r['workload']['events']} events, "
        f"{g['datasets']} datasets, {g['fields']} fields, {g['dataset_edges']} dataset edges, "
        f"{g['column_edges']} column edges"
    )
    print(f"{'section':<26}{'events':>8}{'seconds':>10}{'events/s':>10}")
    for key in ("receive", "apply", "end_to_end", "sync", "duplicates", "api", "api_apply", "with_receivers",
                "with_receivers_end_to_end", "fanout", "fanout_end_to_end"):  # fmt: skip
        s = r.get(key)
        if s:
            print(f"{key:<26}{s['events']:>8}{s['seconds']:>10.1f}{s['events_per_second']:>10.1f}")


if __name__ == "__main__":
    benchkit.run(main)
