#!/usr/bin/env python
"""`make bench`: OpenLineage ingest end to end through HTTP — events/s from the first POST until everything
is applied, on Keel served as in production (gunicorn with ONE web worker, ONE Celery worker process).

Each case gets its own throwaway database (SQLite file under var/bench/; with DATABASE_URL, a database
`<name>_bench_e2e_<case>_<pid>` on that server, created and dropped here) and its own servers:
  - "throughput": --events realistic RunEvents (scripts/bench_lineage.py's seeded pipeline generator),
    posted in bursts of --burst by --clients concurrent HTTP clients to POST /api/v1/lineage with a
    Bearer API token; then --duplicate-events of them again (each answers 200 duplicate);
  - "fanout-<N>" for each N in --fanout (#18): a DatasetEvent tags postgres://crm:5432 /
    crm.public.customers' `email` column as PII (untimed), then N COMPLETE runs each read it and write
    s3://lake / features/f<i> (5 columns, columnLineage mapping each to the same-named source column).
The clock starts at the first POST and stops when the queue is empty (queue_status().pending == 0, read
from the database, so it works whether the request or the worker applies) AND the expected end state
holds: one Run per accepted RunEvent; for fan-out, every output's `email` column carries its derived
email label. Bounded by --budget: past it, posting and waiting stop, the servers are stopped, and the
report says what was cut short, with the figures so far (exit status 2).
Writes var/bench/lineage_e2e_<vendor>.json and prints a table. docs/benchmarks.md explains each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import benchkit
from bench_e2e_keel import PROGRESS_EVERY, Clients, Keel, Posted, as_bodies, producer_token
from bench_lineage import CLL_URL, PRODUCER, RUN_EVENT, SCHEMA_URL, Pipeline, graph_counts
from django.conf import settings
from django.db import connection

from governance.lineage.queue import queue_status
from governance.models import Classification, Run

RESERVE = 25  # seconds of the budget kept for stopping the servers, dropping the database and the report
POLL = 0.05  # seconds between two reads of the applied state once the last POST has been answered
DATASET_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
TAGS_URL = "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet"
CRM = ("postgres://crm:5432", "crm.public.customers")
LAKE = "s3://lake"
FANOUT_COLUMNS = ("customer_id", "email", "full_name", "country", "signup_date")


# --- the fan-out workload (#18) -----------------------------------------------------------------------


def schema_facet() -> dict:
    fields = [{"name": c, "type": "varchar"} for c in FANOUT_COLUMNS]
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL, "fields": fields}


def tag_event() -> dict:
    """The CRM's catalogue says customers.email is an email address (Keel reads `pii=<kind>` tags)."""
    tags = [{"key": "pii", "value": "email", "field": "email", "source": "CATALOG"}]
    return {
        "eventTime": "2026-01-01T00:00:00+00:00", "producer": PRODUCER, "schemaURL": DATASET_EVENT,
        "dataset": {"namespace": CRM[0], "name": CRM[1], "facets": {
            "schema": schema_facet(), "tags": {"_producer": PRODUCER, "_schemaURL": TAGS_URL, "tags": tags},
        }},
    }  # fmt: skip


def fanout_event(i: int) -> dict:
    lineage = {
        c: {"inputFields": [{"namespace": CRM[0], "name": CRM[1], "field": c,
                             "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]}]}
        for c in FANOUT_COLUMNS
    }  # fmt: skip
    return {
        "eventType": "COMPLETE", "eventTime": f"2026-01-02T00:00:{i % 60:02d}+00:00", "producer": PRODUCER,
        "schemaURL": RUN_EVENT, "run": {"runId": f"00000000-0000-4000-9000-{i:012d}", "facets": {}},
        "job": {"namespace": "bench-fanout", "name": f"features_f{i}", "facets": {}},
        "inputs": [{"namespace": CRM[0], "name": CRM[1], "facets": {}}],
        "outputs": [{"namespace": LAKE, "name": f"features/f{i}", "facets": {
            "schema": schema_facet(),
            "columnLineage": {"_producer": PRODUCER, "_schemaURL": CLL_URL, "fields": lineage},
        }}],
    }  # fmt: skip


def email_labels(kind: str) -> int:
    """Outputs whose email column carries a label derived from the CRM's email (one per dataset)."""
    labels = Classification.objects.filter(origin="derived", pii_kind=kind, field__name="email")
    outputs = labels.filter(dataset__namespace=LAKE, dataset__name__startswith="features/f")
    return outputs.values("dataset_id").distinct().count()


# --- one case -----------------------------------------------------------------------------------------


def wait_applied(done, stop_at: float) -> tuple[float | None, dict]:
    """Poll until the queue is empty and done() says the end state holds; (perf_counter time, last
    reading), or (None, last reading) when stop_at passed first."""
    last = time.perf_counter()
    while True:
        status = queue_status()
        state = done()
        reading = {"pending": status.pending, **state}
        if status.pending == 0 and state["complete"]:
            return time.perf_counter(), reading
        if time.perf_counter() >= stop_at:
            return None, reading
        if time.perf_counter() - last >= PROGRESS_EVERY:
            last = time.perf_counter()
            print(f"    waiting for the apply: {reading}", flush=True)
        time.sleep(POLL)


def latency_ms(posted: Posted) -> dict:
    if not posted.latencies:
        return {}
    pick = {"p50": 50, "p95": 95, "max": 100}
    return {k: round(benchkit.percentile(posted.latencies, p) * 1000, 1) for k, p in pick.items()}


def cpu_ms_per_event(before: dict, after: dict, events: int) -> dict:
    return {name: round((after[name] - before.get(name, 0.0)) * 1000 / events, 2) for name in after} if events else {}


def cpu_now(keel: Keel) -> dict[str, float]:
    """CPU seconds so far of the servers' process groups, and of this process (the clients: they share the
    machine's CPUs with the servers, so their cost is part of what a figure on one machine says), and on
    PostgreSQL the database server's for the case's database."""
    return keel.cpu_seconds() | {"clients": time.process_time()} | benchkit.database_cpu_seconds()


def timed_round(keel: Keel, clients: Clients, bodies: list[bytes], done, stop_at: float) -> dict:
    """Post, then wait until applied: the end-to-end figures of one round (partial when cut short)."""
    cpu = cpu_now(keel)
    posted = clients.post(bodies, expect=201, stop_at=stop_at)
    accepted = posted.statuses.get(201, 0)
    out = {
        "events": len(bodies), "posted": posted.count, "accepted": accepted, "statuses": posted.statuses,
        "unexpected": posted.unexpected, "answered_before_applied": posted.not_yet_applied,
        "latency_ms": latency_ms(posted),
    }  # fmt: skip
    if not posted.count:
        return out | {"cut_short": "budget: nothing posted"}
    posting = posted.last_end - posted.first_start
    out["posting_seconds"] = round(posting, 3)
    out["posting_events_per_second"] = round(posted.count / posting, 1) if posting else None
    if posted.cut_short:
        at_cut = {"pending": queue_status().pending, "runs": Run.objects.count()}
        # Per POST answered (the applied part is behind): what the servers spent so far.
        out["cpu_ms_per_posted_event"] = cpu_ms_per_event(cpu, cpu_now(keel), posted.count)
        return out | {"cut_short": "budget: while posting", "at_cut": at_cut}
    applied_at, reading = wait_applied(lambda: done(accepted), stop_at)
    out["end_state"] = reading
    if applied_at is None:
        return out | {"cut_short": "budget: while waiting for the apply"}
    seconds = applied_at - posted.first_start
    return out | {
        "cpu_ms_per_event": cpu_ms_per_event(cpu, cpu_now(keel), accepted),
        "seconds": round(seconds, 3),
        "events_per_second": round(accepted / seconds, 1),
        "drain_seconds": round(applied_at - posted.last_end, 3),
    }


def throughput(keel: Keel, clients: Clients, args, stop_at: float) -> dict:
    jobs = max(1, args.events // max(1, args.runs_per_job))
    pipeline = Pipeline(jobs=jobs, datasets_per_layer=args.datasets_per_layer)
    bodies = as_bodies([pipeline.event(n) for n in range(args.events)])
    r = timed_round(
        keel, clients, bodies, lambda n: {"runs": (runs := Run.objects.count()), "complete": runs >= n}, stop_at
    )
    r["workload"] = {"jobs": jobs, "runs_per_job": args.runs_per_job, "datasets_per_layer": args.datasets_per_layer}
    if "seconds" in r and args.duplicate_events:
        sample = bodies[: args.duplicate_events]
        cpu = cpu_now(keel)
        dup = clients.post(sample, expect=200, stop_at=stop_at)
        seconds = dup.last_end - dup.first_start if dup.count else 0
        r["duplicates"] = {
            "events": len(sample), "posted": dup.count, "statuses": dup.statuses, "unexpected": dup.unexpected,
            "seconds": round(seconds, 3), "events_per_second": round(dup.count / seconds, 1) if seconds else None,
            "latency_ms": latency_ms(dup), "cut_short": "budget" if dup.cut_short else None,
            "cpu_ms_per_event": cpu_ms_per_event(cpu, cpu_now(keel), dup.count),
        }  # fmt: skip
        if seconds and not dup.cut_short:
            # Time per event end to end : time per duplicate (same clients, same server).
            r["ingest_to_duplicate_ratio"] = round((r["seconds"] / r["accepted"]) / (seconds / dup.count), 1)
    r["graph"] = graph_counts()
    return r


def fanout(keel: Keel, n: int, clients: Clients, stop_at: float) -> dict:
    """The tag event first, untimed, until its producer root exists; then the N runs, timed."""
    setup = clients.post(as_bodies([tag_event()]), expect=201, stop_at=stop_at)
    if setup.statuses.get(201) != 1:
        return {"n": n, "cut_short": f"the tag event was not accepted: {setup.unexpected or 'budget'}"}
    root = Classification.objects.filter(origin="producer", field__name="email", dataset__name=CRM[1])
    at, _ = wait_applied(lambda: {"complete": root.exists()}, stop_at)
    if at is None:
        return {"n": n, "cut_short": "budget: the tag event was not applied in time"}
    bodies = as_bodies([fanout_event(i) for i in range(n)])

    def done(accepted: int) -> dict:
        labelled, runs = email_labels("email"), Run.objects.count()
        return {"labelled_outputs": labelled, "runs": runs, "complete": labelled >= accepted and runs >= accepted}

    return {"n": n, **timed_round(keel, clients, bodies, done, stop_at), "graph": graph_counts()}


@contextlib.contextmanager
def case_database(template: str, suffix: str, *, keep: bool):
    """A copy of the migrated template database (file copy on SQLite, CREATE DATABASE … TEMPLATE on
    PostgreSQL: seconds saved per case) that this process's connection points at meanwhile."""
    _point_at(template)  # the template must have no open connection while it is copied
    connection.creation.clone_test_db(suffix=suffix, verbosity=0)
    name = connection.creation.get_test_db_clone_settings(suffix)["NAME"]
    _point_at(name)
    try:
        yield name
    finally:
        _point_at(template)
        if not keep:
            with contextlib.suppress(Exception):
                connection.creation.destroy_test_db(old_database_name=template, verbosity=0, suffix=suffix)


def _point_at(name: str) -> None:
    connection.close()
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name


def run_case(name: str, template: str, key: str, args, deadline: float) -> dict:
    """The case on its own copy of the database and its own servers, always stopped and dropped after."""
    case: dict = {"case": name}
    t0 = time.perf_counter()
    with case_database(template, name.replace("-", "_"), keep=args.keep_db) as db_name:
        keel = Keel(connection.vendor, benchkit.BENCH_DIR / f"{Path(str(template)).stem}_{name}",
                    worker_class=args.worker_class, threads=args.threads, redis_url=args.redis_url)  # fmt: skip
        case |= {"database": str(db_name), "run_dir": str(keel.var_dir), "servers": keel.describe()}
        with keel:
            case["setup_seconds"] = round(time.perf_counter() - t0, 1)  # database copy, servers up
            clients = Clients(keel.url, key, clients=args.clients, burst=args.burst, pause=args.pause)
            stop_at = deadline - RESERVE
            if name == "throughput":
                case |= throughput(keel, clients, args, stop_at)
            else:
                case |= fanout(keel, int(name.removeprefix("fanout-")), clients, stop_at)
        if _incomplete(case):
            case["logs"] = str(keel.var_dir / "log")  # kept: they say what the servers were doing
        else:
            shutil.rmtree(keel.var_dir, ignore_errors=True)
    return case


def run_cases(names: list[str], args, deadline: float) -> list[dict]:
    """Migrate one template database (with the producer's token), then each case on a copy of it."""
    configured = settings.DATABASES["default"]["NAME"]
    cases: list[dict] = []
    created = False
    try:
        _, template = benchkit.setup_database(f"e2e_{os.getpid()}")
        created = True
        key = producer_token()
        for name in names:
            if deadline - time.perf_counter() < 2 * RESERVE:
                cases.append({"case": name, "cut_short": "budget: not started"})
                continue
            print(f"  {name} ...", flush=True)
            try:
                cases.append(run_case(name, template, key, args, deadline))
            except Exception as exc:  # e.g. a server that did not start: report it, run no further case
                logs = benchkit.BENCH_DIR / f"{Path(str(template)).stem}_{name}" / "log"
                cases.append({"case": name, "error": f"{type(exc).__name__}: {exc}", "logs": str(logs)})
                break
    finally:
        if created and not args.keep_db:
            benchkit.drop_database(configured)
    return cases


# --- main -------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--events", type=int, default=10_000, help="RunEvents in the throughput case (0 skips the case)")
    add("--runs-per-job", type=int, default=2, help="each generated job runs this often among --events")
    add("--datasets-per-layer", type=int, default=1_500, help="the generated pipeline's dataset pool per layer")
    add("--duplicate-events", type=int, default=1_000, help="events of the throughput case posted again")
    add("--fanout", default="2000,10000", help="comma-separated N of the fan-out cases ('' skips them)")
    add("--clients", type=int, default=8, help="concurrent HTTP clients")
    add("--burst", type=int, default=50, help="events a client posts back to back before taking the next burst")
    add("--pause", type=float, default=0.0, help="seconds a client waits after each burst")
    # The default is the database's. On PostgreSQL, `gthread` with 8 threads: one process then overlaps its
    # commits' fsync waits (~3 ms each here), which a sync worker spends idle. On SQLite, `sync` (the class
    # deploy/gunicorn.conf.py runs): one writer at a time holds SQLite's lock anyway, and on a quiet machine
    # it measured ahead of gthread even with the grouped writes of governance/lineage/together.py (side by side,
    # load 1.1-1.3, 3,000 realistic + 2,000 fan-out events: sync 349-355 and 502-515 events/s, web CPU 1.64-1.73
    # and 1.23-1.26 ms an event; gthread 336-345 and 431-451, web 2.09-2.13 and 1.74-1.86). Under load
    # (5-6) gthread came out ahead (226-228 vs 137-238, 345 vs 204-305): choose with --worker-class.
    add("--worker-class", default=None, help="gunicorn's worker class for its one worker [sync on SQLite, gthread]")
    add("--threads", type=int, default=None, help="threads of that worker [1 for sync, 8 for gthread]")
    add(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help="Redis as the servers' broker and cache (e.g. redis://127.0.0.1:6379/7); default the filesystem",
    )
    add("--budget", type=int, default=1_800, help="seconds for the whole run; past it, cases stop with partial figures")
    add("--keep-db", action="store_true", help="keep the throwaway databases")
    add("--output", type=Path, default=None, help="default var/bench/lineage_e2e_<vendor>.json")
    return parser.parse_args()  # fmt: skip


def main() -> int:
    args = parse_args()
    if args.worker_class is None:
        args.worker_class = "sync" if connection.vendor == "sqlite" else "gthread"
    if args.threads is None:
        args.threads = 1 if args.worker_class == "sync" else 8
    t0 = time.perf_counter()
    # The backstop if something blocks past the cooperative deadline: SIGALRM raises in the main thread,
    # and the finally blocks still stop the servers and drop the databases.
    benchkit.start_budget(args.budget + 2 * RESERVE)
    # Stopped from outside (make's SIGTERM, a supervisor), the finally blocks still stop the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    names = (["throughput"] if args.events else []) + [f"fanout-{int(n)}" for n in args.fanout.split(",") if n.strip()]
    try:
        cases = run_cases(names, args, deadline=t0 + args.budget)
    finally:
        benchkit.stop_budget()
    report = {
        "when": benchkit.now_iso(), "vendor": connection.vendor,
        # Other work on the machine skews every figure: the load average when the run ended says how much.
        "machine": benchkit.machine_facts() | {"load_average_1_5_15": os.getloadavg()},
        "clients": args.clients, "burst": args.burst, "pause": args.pause, "budget": args.budget,
        "cases": cases, "total_seconds": round(time.perf_counter() - t0, 1), "goals": goals(cases),
    }  # fmt: skip
    output = args.output or benchkit.BENCH_DIR / f"lineage_e2e_{connection.vendor}.json"
    benchkit.publish(report, output, print_table)
    return 2 if any(_incomplete(c) for c in cases) else 0


GOAL_EVENTS_PER_SECOND = 500  # issue #13: end to end, for the throughput case and each fan-out (#18)


def goals(cases: list[dict]) -> list[dict]:
    """Each case's goal as scripts/bench_summary.py reads it: the end-to-end rate, the case complete (the
    events posted are in the report; the summary checks them against the goal's size)."""
    out = []
    for c in cases:
        rate, stopped = c.get("events_per_second"), _incomplete(c)
        why = c.get("cut_short") or (c.get("error") or "").split("\n")[0] or "unexpected answers"
        out.append({
            "name": f"lineage_{c['case']}", "measured": rate, "events": c.get("events"),
            "goal": f">= {GOAL_EVENTS_PER_SECOND} events/s end to end",
            "goal_met": rate is not None and rate >= GOAL_EVENTS_PER_SECOND and not stopped,
            "text": "no end-to-end rate" if rate is None else f"{rate:,} events/s",
            "note": why if stopped else "",
        })  # fmt: skip
    return out


def _incomplete(case: dict) -> bool:
    duplicates = case.get("duplicates") or {}
    return bool(
        case.get("cut_short") or case.get("error") or case.get("unexpected")
        or duplicates.get("cut_short") or duplicates.get("unexpected")
    )  # fmt: skip


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def print_table(r: dict) -> None:
    print(
        f"\nLineage ingest end to end through HTTP ({r['vendor']}): {r['clients']} clients, bursts of {r['burst']}; "
        "gunicorn 1 worker + 1 Celery worker"
    )
    print(f"{'case':<16}{'accepted':>9}{'seconds':>9}{'events/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'drain s':>9}  note")
    for c in r["cases"]:
        ms = c.get("latency_ms") or {}
        error = (c.get("error") or "").split("\n")[0]
        note = c.get("cut_short") or error or "; ".join(c.get("unexpected") or [])[:60]
        print(
            f"{c['case']:<16}{_fmt(c.get('accepted'), 'd'):>9}{_fmt(c.get('seconds'), '.1f'):>9}"
            f"{_fmt(c.get('events_per_second'), '.1f'):>10}{_fmt(ms.get('p50'), '.1f'):>9}"
            f"{_fmt(ms.get('p95'), '.1f'):>9}{_fmt(c.get('drain_seconds'), '.2f'):>9}  {note}"
        )
        if cpu := c.get("cpu_ms_per_event") or c.get("cpu_ms_per_posted_event"):
            parts = ", ".join(
                f"{name} {cpu.get(name)}" for name in ("web", "worker", "clients", "database") if name in cpu
            )
            print(f"{'':<16}CPU ms per event: {parts}")
        if c.get("posting_events_per_second") and c.get("cut_short"):
            print(f"{'':<16}posted {c['posted']} at {c['posting_events_per_second']} events/s before the cut")
        if d := c.get("duplicates"):
            dms = d.get("latency_ms") or {}
            print(
                f"{'  duplicates':<16}{d['posted']:>9}{_fmt(d.get('seconds'), '.1f'):>9}"
                f"{_fmt(d.get('events_per_second'), '.1f'):>10}{_fmt(dms.get('p50'), '.1f'):>9}"
                f"{_fmt(dms.get('p95'), '.1f'):>9}{'':>9}  ingest : duplicate "
                f"= {c.get('ingest_to_duplicate_ratio')} : 1"
            )


if __name__ == "__main__":
    benchkit.run(main)
