#!/usr/bin/env python
"""`make bench`: the main API lists' throughput under gunicorn, as a ratio to a trivial endpoint (#15).

One run, bounded (--budget):
  1. builds a throwaway database (SQLite under var/bench/; with DATABASE_URL, `<name>_bench_api_lists_<pid>`
     on that server, created and dropped here) and seeds a portfolio: `seed_portfolio` (--projects projects,
     --months of ROI entries each), risks and findings as scripts/bench_dashboard.py adds them, one MLflow
     registry with a model per project, --versions-per-model versions each and their alias history, and
     --audit-events audit events (bulk-inserted and chained; nobody verifies them here);
  2. creates an executive, a team lead (member of one team: a fifth of the portfolio) and a risk officer
     (the audit trail's reader), each with an API token;
  3. serves Keel with gunicorn alone (one worker, gthread, --threads threads; no Celery: nothing is queued);
  4. for each persona, --clients threads (http.client, kept-alive connections) GET one path for --seconds:
     first the baseline, the API root /api/v1/ (token authentication, the role check, a small JSON body,
     no rows: the trivial JSON endpoint every request pays for; /healthz is not trivial, it probes the
     broker and the worker), then page 1 of each list, then the baseline again;
  5. prints requests/s per list, its ratio to the mean of the two baselines (goal >= 0.3), the queries one
     page runs (counted in-process) and the page's size, then whether each list met the goal; writes
     var/bench/api_lists_<vendor>.json. Each list also has a top-level key there (e.g. "risks") with its
     `ratio` (the lowest of the personas that may read it: the goal is met only if it is met for every
     reader), `cpu_ratio` (likewise), the ratio per persona and `goal_met`.

Run it with `make bench`, or `.venv/bin/python scripts/bench_api_lists.py --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import os
import shutil
import threading
import time
from pathlib import Path

import benchkit
from bench_dashboard import add_governance
from bench_e2e_keel import Keel
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.roles import Role
from core.services import api_token_create
from governance.models import AuditEvent, Finding, Risk
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject, DeploymentObservation, ModelVersion, RegisteredModel, Registry, ROIEntry, Team

BASELINE = "/api/v1/"
LISTS = {
    "projects": "/api/v1/projects/",
    "model-versions": "/api/v1/model-versions/",
    "deployments": "/api/v1/deployments/",
    "risks": "/api/v1/risks/",
    "findings": "/api/v1/findings/",
    "roi-entries": "/api/v1/roi-entries/",
    "audit-events": "/api/v1/audit-events/",
}
PERSONAS = {"executive": Role.EXECUTIVE, "team_lead": Role.TEAM_LEAD, "risk_officer": Role.RISK_OFFICER}
GOAL = 0.3
BATCH = 5_000


# --- the portfolio ------------------------------------------------------------------------------------


def seed_registry(versions_per_model: int) -> dict[str, int]:
    """One MLflow registry, a model linked to every project, its versions, and an alias history: each
    version held `champion` for a day after the one before it; the newest holds it still."""
    registry = Registry.objects.create(name="bench-mlflow", kind="mlflow", base_url="http://mlflow.invalid")
    projects = list(AIProject.objects.order_by("pk").values_list("pk", "slug"))
    RegisteredModel.objects.bulk_create(
        [RegisteredModel(registry=registry, name=f"{slug}-model", project_id=pk, link_source="tag")
         for pk, slug in projects], batch_size=BATCH,
    )  # fmt: skip
    start = timezone.now() - dt.timedelta(days=versions_per_model + 1)
    versions = [
        ModelVersion(registered_model_id=m, version=str(v), version_number=v, status="READY", run_id=f"run-{m}-{v}",
                     source=f"s3://models/{m}/{v}", created_by="bench", registry_created_at=start)
        for m in RegisteredModel.objects.order_by("pk").values_list("pk", flat=True)
        for v in range(1, versions_per_model + 1)
    ]  # fmt: skip
    ModelVersion.objects.bulk_create(versions, batch_size=BATCH)
    intervals = []
    for pk, model_id, number in ModelVersion.objects.values_list("pk", "registered_model_id", "version_number"):
        since = start + dt.timedelta(days=number)
        until = None if number == versions_per_model else since + dt.timedelta(days=1)
        intervals.append(DeploymentObservation(registered_model_id=model_id, version_id=pk, signal="alias",
                                               name="champion", observed_from=since, observed_until=until))  # fmt: skip
    DeploymentObservation.objects.bulk_create(intervals, batch_size=BATCH)
    return {"models": len(projects), "versions": len(versions), "deployments": len(intervals)}


def seed_audit(n: int) -> int:
    """n events after the newest, each chained to the one before (sha-256 of its seq: unique, as the
    columns require); the benchmark reads them, nothing verifies them."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first() or (0, "0" * 64)
    seq, prev = last
    now = timezone.now()
    while n > 0:
        rows = []
        for _ in range(min(n, BATCH)):
            seq += 1
            digest = hashlib.sha256(f"bench-{seq}".encode()).hexdigest()
            rows.append(AuditEvent(
                seq=seq, occurred_at=now, actor_id=None, actor_repr="bench", action="project.update",
                object_type="projects.aiproject", object_id=str(seq % 500), before={"stage": "idea"},
                after={"stage": "design"}, prev_hash=prev, hash=digest,
            ))  # fmt: skip
            prev = digest
        AuditEvent.objects.bulk_create(rows)
        n -= len(rows)
    return seq


def personas() -> dict[str, str]:
    """An API token per persona; the team lead is a member of the first team only."""
    keys = {}
    for name, role in PERSONAS.items():
        user = get_user_model().objects.create_user(f"bench-{name}")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == Role.TEAM_LEAD:
            Team.objects.order_by("slug").first().members.add(user)
        keys[name] = api_token_create(user=user, name="bench_api_lists", days=None)[1]
    return keys


def seed(args) -> dict:
    started = time.perf_counter()
    counts = seed_portfolio(scale=args.projects, months=args.months, prefix="api")
    counts |= add_governance("api", get_user_model().objects.create_user("bench-risk-owner"))
    counts |= seed_registry(args.versions_per_model)
    keys = personas()  # before the bulk events: token creation appends its own audited events
    seed_audit(args.audit_events)
    if connection.vendor == "postgresql":
        # What autovacuum (on by default) would soon have done to a production database: fresh statistics and
        # a visibility map, without which every count reads the whole table instead of an index. This
        # machine's server runs with autovacuum off, so a bench database would otherwise never get either.
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")
    data = {
        "projects": AIProject.objects.count(), "model_versions": ModelVersion.objects.count(),
        "deployments": DeploymentObservation.objects.count(), "risks": Risk.objects.count(),
        "findings": Finding.objects.count(), "roi_entries": ROIEntry.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }  # fmt: skip
    return {"keys": keys, "data": data, "seed_seconds": round(time.perf_counter() - started, 1)}


# --- the measurement ----------------------------------------------------------------------------------


def page_facts(path: str, key: str) -> dict:
    """Status, queries and bytes of one request of the path, in-process (the same code gunicorn runs)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    client.get(path)  # warm-up
    counter = benchkit.QueryCounter()
    with connection.execute_wrapper(counter):
        response = client.get(path)
    return {"status": response.status_code, "queries": counter.count, "bytes": len(response.content)}


def hammer(port: int, path: str, key: str, *, clients: int, seconds: float) -> dict:
    """--clients threads GET the path back to back on kept-alive connections for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    headers = {"Authorization": f"Token {key}"}
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, seen = [], {}
        try:
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (http.client.HTTPException, ConnectionError):
                    conn.close()  # the server closed a kept-alive connection: reconnect on the next request
                    status = 0
                mine.append(time.perf_counter() - start)
                seen[status] = seen.get(status, 0) + 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                for s, k in seen.items():
                    statuses[s] = statuses.get(s, 0) + k

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies), "statuses": statuses, "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(benchkit.percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p95_ms": round(benchkit.percentile(latencies, 95) * 1000, 1) if latencies else None,
    }  # fmt: skip


def measure_persona(keel: Keel, name: str, key: str, args) -> dict:
    def run(path: str) -> dict:
        # The server's CPU per request does not depend on what else the machine does; req/s does.
        cpu = keel.cpu_seconds()["web"]
        r = hammer(keel.port, path, key, clients=args.clients, seconds=args.seconds)
        used = keel.cpu_seconds()["web"] - cpu
        return r | {"cpu_ms_per_request": round(used * 1000 / r["requests"], 2) if r["requests"] else None}

    before = run(BASELINE)
    if set(before["statuses"]) != {200}:
        raise RuntimeError(f"{BASELINE} answered {before['statuses']} to the {name}, not only 200")
    lists = {}
    for list_name, path in LISTS.items():
        facts = page_facts(path, key)
        lists[list_name] = facts | (run(path) if facts["status"] == 200 else {"skipped": "not readable"})
    after = run(BASELINE)
    baseline = (before["rps"] + after["rps"]) / 2
    baseline_cpu = (before["cpu_ms_per_request"] + after["cpu_ms_per_request"]) / 2
    for r in lists.values():
        if "rps" in r:
            r["ratio"] = round(r["rps"] / baseline, 2) if baseline else None
            r["cpu_ratio"] = round(baseline_cpu / r["cpu_ms_per_request"], 2) if r["cpu_ms_per_request"] else None
    print(f"  {name}: baseline {before['rps']} / {after['rps']} req/s", flush=True)
    return {
        "baseline": {
            "path": BASELINE,
            "before": before,
            "after": after,
            "rps": round(baseline, 1),
            "cpu_ms_per_request": round(baseline_cpu, 2),
        },
        "lists": lists,
    }


# --- main ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--projects", type=int, default=500, help="projects in the seeded portfolio")
    add("--months", type=int, default=12, help="months of ROI entries per project (4 entries a month)")
    add("--versions-per-model", type=int, default=8, help="model versions per project's model")
    add("--audit-events", type=int, default=60_000, help="audit events in the trail")
    add("--clients", type=int, default=4, help="concurrent HTTP clients")
    add("--seconds", type=float, default=5.0, help="seconds each path is requested")
    add("--threads", type=int, default=4, help="threads of gunicorn's one gthread worker")
    add("--personas", default=",".join(PERSONAS), help="comma-separated: executive, team_lead, risk_officer")
    add("--budget", type=int, default=900, help="seconds before the run gives up")
    add("--keep-db", action="store_true", help="keep the throwaway database")
    add("--output", type=Path, default=None, help="default var/bench/api_lists_<vendor>.json")
    return parser.parse_args()  # fmt: skip


def main() -> int:
    args = parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # page_facts' in-process client
    t0 = benchkit.start_budget(args.budget)
    created = False
    try:
        vendor, db_name = benchkit.setup_database(f"api_lists_{os.getpid()}")
        created = True
        seeded = seed(args)
        print(f"Seeded {seeded['data']} in {seeded['seed_seconds']} s", flush=True)
        keel = Keel(vendor, benchkit.BENCH_DIR / f"api_lists_{os.getpid()}", worker_class="gthread",
                    threads=args.threads, worker=False)  # fmt: skip
        results = {}
        with keel:
            for name in args.personas.split(","):
                results[name] = measure_persona(keel, name, seeded["keys"][name], args)
        shutil.rmtree(keel.var_dir, ignore_errors=True)  # the server's log and static; the report has it all
        report = verdicts(results) | {
            "when": benchkit.now_iso(), "vendor": vendor, "database": str(db_name), "run_dir": str(keel.var_dir),
            "machine": benchkit.machine_facts() | {"load_average_1_5_15": os.getloadavg()},
            "server": f"gunicorn, 1 gthread worker, {args.threads} threads", "servers": keel.describe(),
            "clients": args.clients,
            "seconds_per_path": args.seconds, "data": seeded["data"], "seed_seconds": seeded["seed_seconds"],
            "goal_ratio": GOAL, "personas": results, "total_seconds": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        benchkit.publish(report, args.output or benchkit.BENCH_DIR / f"api_lists_{vendor}.json", print_table)
        return 0
    finally:
        benchkit.stop_budget()
        if created and not args.keep_db:
            benchkit.drop_database()


def verdicts(results: dict) -> dict:
    """A key per list: its lowest ratio over the personas that read it, and whether that meets GOAL."""
    out = {}
    for name in LISTS:
        read = {p: r["lists"][name] for p, r in results.items() if "ratio" in r["lists"][name]}
        ratio = min((x["ratio"] for x in read.values()), default=None)
        out[name] = {
            "ratio": ratio,
            "cpu_ratio": min((x["cpu_ratio"] for x in read.values()), default=None),
            "by_persona": {p: x["ratio"] for p, x in read.items()},
            "goal_met": ratio is not None and ratio >= GOAL,
        }
    return out


def print_table(r: dict) -> None:
    print(f"\nAPI lists under {r['server']} ({r['vendor']}), {r['clients']} clients, {r['seconds_per_path']} s a path;"
          f" ratio = list req/s / {BASELINE} req/s (goal >= {r['goal_ratio']})")  # fmt: skip
    print("cpu ratio = the baseline's server CPU per request / the list's (less sensitive to other load)")
    print(f"{'persona':<13}{'list':<15}{'req/s':>8}{'ratio':>7}{'cpu ms':>8}{'cpu ratio':>10}{'p50 ms':>8}"
          f"{'p95 ms':>8}{'queries':>8}{'KiB':>6}")  # fmt: skip
    for persona, p in r["personas"].items():
        b = p["baseline"]
        print(f"{persona:<13}{'(baseline)':<15}{b['rps']:>8}{1.0:>7}{b['cpu_ms_per_request']:>8}{1.0:>10}")
        for name, x in p["lists"].items():
            if "rps" not in x:
                print(f"{'':<13}{name:<15}{'—':>8}  {x['status']}: {x['skipped']}")
                continue
            flag = "" if x["ratio"] >= r["goal_ratio"] else "  below goal"
            print(f"{'':<13}{name:<15}{x['rps']:>8}{x['ratio']:>7}{x['cpu_ms_per_request']:>8}{x['cpu_ratio']:>10}"
                  f"{x['p50_ms']:>8}{x['p95_ms']:>8}"
                  f"{x['queries']:>8}{x['bytes'] // 1024:>6}{flag}")  # fmt: skip
    print(f"\nGoal: every reader's ratio >= {r['goal_ratio']}")
    for name in LISTS:
        v = r[name]
        print(f"  {name:<15}{'goal met' if v['goal_met'] else 'goal NOT met':<14}lowest ratio {v['ratio']}"
              f" (cpu ratio {v['cpu_ratio']})")  # fmt: skip


if __name__ == "__main__":
    benchkit.run(main)
