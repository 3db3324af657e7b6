#!/usr/bin/env python
"""`make bench`: `verify_audit`'s rows/s and memory at 10,000 and 100,000+ audit events (issue #15).

One run, bounded (--budget, default 600 s):
  1. builds a throwaway Keel database: SQLite under var/bench/ by default; with DATABASE_URL set, a
     separate database named <name>_bench_verify_audit on that server (created and dropped here, never
     the configured database itself);
  2. appends --small events through the real append path (governance.audit.chain.append_events, in
     transactions of --batch events: the path a registry sync takes), seeded and varied like a real
     trail: creates with a full snapshot, updates with before/after, deletions, system and user actors,
     request and task ids, non-ASCII text, nested lists and numbers;
  3. times verify_chain() --repeats times (median), then once more under tracemalloc (its peak) with the
     process's peak RSS reset first (its growth over the run);
  4. appends up to --events and measures again, so the two sizes sit side by side: rows/s should hold
     and the memory should not grow with the chain;
  5. at the large size, times the reference walk once (model instances + compute_hash, the verifier
     before #15) for the ratio; --no-reference skips it;
  6. prints a table and writes var/bench/verify_audit_<vendor>.json.

Run it with `make bench`, or `.venv/bin/python scripts/bench_verify_audit.py --help`;
`DATABASE_URL=postgres://...` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import tracemalloc
from pathlib import Path

import benchkit
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from core import context
from governance.audit.chain import GENESIS_HASH, append_events, compute_hash, event_fields, verify_chain
from governance.models import AuditChainHead, AuditEvent

ACTIONS = (
    ("project.created", "projects.aiproject"), ("project.updated", "projects.aiproject"),
    ("model_version.synced", "projects.modelversion"), ("risk.updated", "governance.risk"),
    ("signoff.approved", "governance.signoffrequest"), ("roi_entry.deleted", "projects.roientry"),
    ("finding.opened", "governance.finding"), ("user.signed_in", "auth.user"),
)  # fmt: skip
WORDS = ("fraud", "churn", "Zürich", "pricing", "crédit", "東京", "claims", "scoring", 'quote "x"', "tab\tline\n")


def event_entry(rng: random.Random, n: int, actors: list) -> dict:
    """One append_events entry: the shapes Keel's services record, varied by a seeded generator."""
    action, object_type = ACTIONS[n % len(ACTIONS)]
    snapshot = {
        "name": f"{rng.choice(WORDS)} {n}",
        "health": rng.choice(["on_track", "at_risk", "off_track"]),
        "expected_investment": f"{rng.randint(0, 10**7)}.{rng.randint(0, 99):02}",
        "members": rng.sample(range(1, 500), rng.randint(0, 4)),
        "score": rng.random() if n % 3 else None,
        "tags": {"team": rng.choice(WORDS), "tier": rng.randint(1, 4)},
    }
    before = after = None
    if action.endswith(".created") or action.endswith(".opened") or action.endswith(".synced"):
        after = snapshot
    elif action.endswith(".deleted"):
        before = snapshot
    elif action != "user.signed_in":
        key = rng.choice(list(snapshot))
        before, after = {key: snapshot[key]}, {key: rng.choice(WORDS)}
    return {"actor": actors[n % len(actors)], "action": action, "object_type": object_type,
            "object_id": str(n), "before": before, "after": after}  # fmt: skip


def append(count: int, *, start: int, batch: int, actors: list, rng: random.Random) -> None:
    """`count` more events through append_events, a transaction per batch; every fifth batch as if a
    request wrote it and every fifth as a task, so the ids are hashed too."""
    for first in range(start, start + count, batch):
        size = min(batch, start + count - first)
        kind = (first // batch) % 5
        request = context.request_id.set(f"req-{first:08x}" if kind == 1 else "")
        task = context.task_id.set(f"task-{first:08x}-Ω" if kind == 2 else "")
        try:
            with transaction.atomic():
                append_events([event_entry(rng, n, actors) for n in range(first, first + size)])
        finally:
            context.request_id.reset(request)
            context.task_id.reset(task)


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux ≥ 4.0), so VmHWM afterwards is
    the peak of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def timed_verify(events: int, chunk_size: int) -> tuple[float, float]:
    """One verify_chain(): (wall seconds, this process's CPU seconds). The CPU time does not grow when
    other work shares the machine; the wall time does."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = verify_chain(chunk_size=chunk_size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if not (result.ok and result.checked == events):
        raise RuntimeError(f"verify_chain on {events} events: {result}")
    return wall, cpu


def measure(events: int, *, repeats: int, chunk_size: int) -> dict:
    """verify_chain() `repeats` times (median rows/s), then once under tracemalloc for its peak, with the
    peak RSS reset before it."""
    runs = [timed_verify(events, chunk_size) for _ in range(repeats)]
    rss_before, reset = rss_kib("VmRSS"), reset_peak_rss()
    tracemalloc.start()
    verify_chain(chunk_size=chunk_size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seconds, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "runs": [round(w, 3) for w, _ in runs],
        "rows_per_second": round(events / seconds),
        "cpu_seconds": round(cpu, 3),
        "cpu_rows_per_second": round(events / cpu) if cpu else None,
        "tracemalloc_peak_kib": round(peak / 1024),
        "rss_growth_kib": rss_kib("VmHWM") - rss_before if reset else None,
    }


def reference_walk(events: int) -> dict:
    """The verifier before #15: model instances from .iterator(), a dict and json.dumps per row."""
    started, cpu = time.perf_counter(), time.process_time()
    prev, seq = GENESIS_HASH, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        seq += 1
        if event.seq != seq or event.prev_hash != prev or compute_hash(prev, event_fields(event)) != event.hash:
            raise RuntimeError(f"reference walk broke at seq {event.seq}")
        prev = event.hash
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if seq != events:
        raise RuntimeError(f"reference walk saw {seq} events, expected {events}")
    return {"events": events, "seconds": round(seconds, 3), "rows_per_second": round(events / seconds),
            "cpu_seconds": round(cpu, 3), "cpu_rows_per_second": round(events / cpu) if cpu else None}  # fmt: skip


def server_version() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            return f"PostgreSQL {cur.fetchone()[0]}"
    return f"SQLite {connection.Database.sqlite_version}"


def speedup(fast: dict, reference: dict | None) -> dict | None:
    """How many times the reference walk's rows/s the verifier gets, by wall time and by CPU time."""
    if reference is None:
        return None
    return {key: round(fast[key] / reference[key], 2) for key in ("rows_per_second", "cpu_rows_per_second")}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the chain at the large size")
    parser.add_argument("--small", type=int, default=10_000, help="events at the small size (≤ --events)")
    parser.add_argument("--batch", type=int, default=5_000, help="events per append_events transaction")
    parser.add_argument("--chunk-size", type=int, default=2_000, help="rows per fetch of the verifier's cursor")
    parser.add_argument("--repeats", type=int, default=3, help="timed verifications per size (median)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference walk")
    parser.add_argument("--budget", type=int, default=600, help="seconds before the run gives up")
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway Keel database")
    parser.add_argument("--output", type=Path, default=None, help="default var/bench/verify_audit_<vendor>.json")
    args = parser.parse_args()
    if not 0 < args.small <= args.events:
        parser.error("--small must be between 1 and --events")
    return args


def main() -> int:
    args = parse_args()
    t0 = benchkit.start_budget(args.budget)
    db_created = False
    try:
        vendor, db_name = benchkit.setup_database("verify_audit")
        db_created = True
        users = get_user_model().objects
        actors = [None, users.create_user("ravi"), users.create_user("ana-lúcia"), None]
        rng = random.Random(15)  # noqa: S311 - reproducible test data, not secrets
        print(f"Keel DB: {vendor} {db_name}; verifying {args.small:,} then {args.events:,} events", flush=True)
        sizes, build_seconds, built = [], 0.0, 0
        for target in dict.fromkeys((args.small, args.events)):
            started = time.perf_counter()
            append(target - built, start=built, batch=args.batch, actors=actors, rng=rng)
            build_seconds += time.perf_counter() - started
            built = target
            sizes.append(measure(target, repeats=args.repeats, chunk_size=args.chunk_size))
            s = sizes[-1]
            print(f"  {target:,} events: {s['rows_per_second']:,} rows/s (median of {args.repeats}), "
                  f"tracemalloc peak {s['tracemalloc_peak_kib']:,} KiB, RSS growth {s['rss_growth_kib']} KiB",
                  flush=True)  # fmt: skip
        reference = None if args.no_reference else reference_walk(args.events)
        report = {
            "when": benchkit.now_iso(),
            "machine": {**benchkit.machine_facts(), "load_average": [round(x, 2) for x in os.getloadavg()]},
            "database": {"vendor": vendor, "name": str(db_name), "server": server_version()},
            "workload": {
                "events": args.events,
                "small": args.small,
                "append_batch": args.batch,
                "chunk_size": args.chunk_size,
                "repeats": args.repeats,
                "head_seq": AuditChainHead.objects.get().seq,
            },
            "build": {
                "events": built,
                "seconds": round(build_seconds, 1),
                "events_per_second": round(built / build_seconds),
            },
            "sizes": sizes,
            "reference": reference,
            "speedup_vs_reference": speedup(sizes[-1], reference),
            "total_seconds": round(time.perf_counter() - t0, 1),
        }
        report["goals"] = goals(sizes)
        output = args.output or benchkit.BENCH_DIR / f"verify_audit_{vendor}.json"
        benchkit.publish(report, output, print_table)
        return 0
    finally:
        benchkit.stop_budget()
        if db_created and not args.keep_db:
            benchkit.drop_database()


# Issue #15: at least this many rows/s at this many events, the Python memory peak flat (at the large size
# within this factor of the small size's: one chunk in hand, not the chain).
GOAL_ROWS_PER_SECOND, GOAL_EVENTS, FLAT_FACTOR = 50_000, 100_000, 1.5


def goals(sizes: list[dict]) -> list[dict]:
    """The goal as scripts/bench_summary.py reads it (the event count is in the report; the summary checks it)."""
    small, large = sizes[0], sizes[-1]
    peaks = small["tracemalloc_peak_kib"], large["tracemalloc_peak_kib"]
    flat = len(sizes) > 1 and peaks[1] <= FLAT_FACTOR * peaks[0]
    rate = large["rows_per_second"]
    return [{
        "name": "verify_audit", "measured": rate, "events": large["events"],
        "goal": f">= {GOAL_ROWS_PER_SECOND:,} rows/s at {GOAL_EVENTS:,}+ events, tracemalloc peak <= {FLAT_FACTOR}x "
                "the small size's",
        "goal_met": rate >= GOAL_ROWS_PER_SECOND and large["events"] >= GOAL_EVENTS and flat,
        "text": f"{rate:,} rows/s at {large['events']:,}; peak {peaks[0]:,} → {peaks[1]:,} KiB",
        "note": "" if flat else "memory not shown flat",
    }]  # fmt: skip


def print_table(r: dict) -> None:
    load = ", ".join(str(x) for x in r["machine"]["load_average"])
    print(f"\nverify_audit benchmark ({r['database']['server']}), chunks of {r['workload']['chunk_size']:,} rows; "
          f"built {r['build']['events']:,} events in {r['build']['seconds']} s; load average {load}")  # fmt: skip
    print(
        f"{'events':>10}{'seconds':>9}{'rows/s':>9}{'CPU rows/s':>12}{'tracemalloc peak KiB':>22}{'RSS growth KiB':>16}"
    )
    for s in r["sizes"]:
        rss = "-" if s["rss_growth_kib"] is None else f"{s['rss_growth_kib']:,}"
        print(f"{s['events']:>10,}{s['seconds']:>9.3f}{s['rows_per_second']:>9,}{s['cpu_rows_per_second']:>12,}"
              f"{s['tracemalloc_peak_kib']:>22,}{rss:>16}")  # fmt: skip
    if r["reference"]:
        ref, x = r["reference"], r["speedup_vs_reference"]
        print(f"reference walk (model instances + compute_hash): {ref['rows_per_second']:,} rows/s, CPU "
              f"{ref['cpu_rows_per_second']:,} rows/s; the verifier is {x['rows_per_second']}× that "
              f"({x['cpu_rows_per_second']}× by CPU time)")  # fmt: skip


if __name__ == "__main__":
    benchkit.run(main)
