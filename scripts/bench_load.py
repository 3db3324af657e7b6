#!/usr/bin/env python
"""`make bench`: the load test. The personas' journeys (scripts/locust_keel.py) under locust, headless and
bounded in time, against gunicorn and a Celery worker on loopback, DEBUG off (issue #16).

One run, bounded (--budget):
  1. builds a throwaway database (SQLite under var/bench/; with DATABASE_URL, `<name>_bench_load_<pid>` on
     that server, created and dropped here) and seeds a portfolio as bench_api_lists.py does (projects with
     ROI entries, risks, findings, one registry with versions and alias history);
  2. creates the personas: an executive, a risk officer, a team lead (member of one team) who sign in
     through the login page, and a pipeline (gate calls, OpenLineage posts), each with an API token;
  3. serves Keel with gunicorn (one gthread worker, --threads threads) and one Celery worker;
  4. runs locust for --seconds with --users simulated users (think time 0.2–1 s), then checks that the audit
     chain still verifies (every write above appended to it, concurrently);
  5. prints requests/s, failures and p50/p95 per request type; writes var/bench/load_<vendor>.json.
Exit 1 on any failed request or a broken chain.

Run it with `make bench`, or `.venv/bin/python scripts/bench_load.py --help`; tests/test_bench_load.py runs
a few seconds of it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import benchkit
from bench_api_lists import seed_registry
from bench_dashboard import add_governance
from bench_e2e_keel import Keel
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from core.roles import Role
from core.services import api_token_create
from governance.audit.chain import verify_chain
from governance.models import AuditEvent, Risk, RiskStatus
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject, ModelVersion, RoiBasis, ROIEntry, Team

LOCUSTFILE = Path(__file__).resolve().parent / "locust_keel.py"
PERSONAS = {
    "executive": Role.EXECUTIVE,
    "risk_officer": Role.RISK_OFFICER,
    "team_lead": Role.TEAM_LEAD,
    "pipeline": Role.TEAM_LEAD,  # may post lineage; not a member of any team
}
PASSWORD = "load-test-only-" + "x" * 12  # a throwaway database's users
LINEAGE_NAMESPACES = ("load", "postgres://db:5432")


def signed_in_session(user) -> str:
    """A session cookie for `user`, as the login page would set. Users sign in once and then work: a
    PBKDF2 sign-in per simulated user would measure the password hasher, not the journeys (the first
    user of each persona still signs in through the page, so the form is exercised)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def seed(args) -> dict:
    started = time.perf_counter()
    seed_portfolio(scale=args.projects, months=args.months, prefix="load")
    add_governance("load", get_user_model().objects.create_user("bench-risk-owner"))
    seed_registry(args.versions_per_model)
    personas = {}
    for name, role in PERSONAS.items():
        user = get_user_model().objects.create_user(f"load-{name}", password=PASSWORD)
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if name == "team_lead":
            team = Team.objects.order_by("slug").first()
            team.members.add(user)
        # The pipeline writes lineage only to the namespaces its token is scoped to, as a real producer's.
        scopes = LINEAGE_NAMESPACES if name == "pipeline" else ()
        token = api_token_create(user=user, name="bench_load", days=None, lineage_namespaces=scopes)[1]
        personas[name] = {"username": user.username, "password": PASSWORD, "token": token,
                          "session": signed_in_session(user)}  # fmt: skip
    lead_projects = AIProject.objects.filter(team=team)
    open_risks = Risk.objects.filter(status__in=[RiskStatus.OPEN, RiskStatus.MITIGATING])
    versions = ModelVersion.objects.select_related("registered_model__registry").order_by("pk")
    plan = {
        "personas": personas,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "projects": list(AIProject.objects.values_list("slug", flat=True)),
        "reviewable_risks": list(open_risks.values_list("pk", flat=True)[:200]),
        "lead_risks": list(open_risks.filter(project__in=lead_projects).values_list("pk", flat=True)[:100]),
        "roi_entries": list(
            ROIEntry.objects.filter(project__in=lead_projects, basis=RoiBasis.ACTUAL).values_list("pk", flat=True)[:200]
        ),
        "gate": [(v.registered_model.registry.name, v.registered_model.name, v.version) for v in versions[:200]],
    }
    empty = [k for k in ("reviewable_risks", "lead_risks", "roi_entries", "gate") if not plan[k]]
    if empty:
        raise SystemExit(f"the seeded portfolio has no {', '.join(empty)}: seed more projects (--projects)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    data = {"projects": len(plan["projects"]), "risks": Risk.objects.count(), "roi_entries": ROIEntry.objects.count(),
            "model_versions": ModelVersion.objects.count(), "audit_events": AuditEvent.objects.count()}  # fmt: skip
    return {"plan": plan, "data": data, "seed_seconds": round(time.perf_counter() - started, 1)}


def run_locust(keel: Keel, plan_file: Path, args) -> tuple[list[dict], str]:
    prefix = keel.var_dir / "locust"
    env = dict(os.environ) | {"LOAD_PLAN": str(plan_file)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and locustfile
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", keel.url,
         "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s", "--stop-timeout", "10",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        env=env, capture_output=True, text=True, timeout=args.seconds + 120, check=False,
    )  # fmt: skip
    stats = prefix.with_name("locust_stats.csv")
    if done.returncode != 0 or not stats.exists():
        raise RuntimeError(f"locust failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    with stats.open() as fh:
        rows = list(csv.DictReader(fh))
    failures = prefix.with_name("locust_failures.csv")
    return rows, failures.read_text() if failures.exists() else ""


def shape(rows: list[dict]) -> dict:
    out = {}
    for row in rows:
        name = "all requests" if row["Name"] == "Aggregated" else row["Name"]
        out[name] = {
            "method": row["Type"], "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 2), "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]),
            "max_ms": round(float(row["Max Response Time"])),
        }  # fmt: skip
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--projects", type=int, default=100, help="projects in the seeded portfolio")
    add("--months", type=int, default=12, help="months of ROI entries per project")
    add("--versions-per-model", type=int, default=4, help="model versions per project's model")
    add("--users", type=int, default=20, help="simulated users (executive 3 : officer 2 : lead 2 : pipeline 2)")
    add("--spawn-rate", type=float, default=10, help="users started per second")
    add("--seconds", type=int, default=60, help="how long the load runs")
    add("--threads", type=int, default=4, help="threads of gunicorn's one gthread worker")
    add("--budget", type=int, default=900, help="seconds before the run gives up")
    add("--keep-db", action="store_true", help="keep the throwaway database")
    add("--output", type=Path, default=None, help="default var/bench/load_<vendor>.json")
    return parser.parse_args()  # fmt: skip


def main() -> int:
    args = parse_args()
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per seeded session otherwise
    t0 = benchkit.start_budget(args.budget)
    created = False
    try:
        vendor, db_name = benchkit.setup_database(f"load_{os.getpid()}")
        created = True
        seeded = seed(args)
        print(f"Seeded {seeded['data']} in {seeded['seed_seconds']} s", flush=True)
        keel = Keel(vendor, benchkit.BENCH_DIR / f"load_{os.getpid()}", worker_class="gthread", threads=args.threads)
        with keel:
            plan_file = keel.var_dir / "plan.json"
            plan_file.write_text(json.dumps(seeded["plan"]))
            cpu_before = keel.cpu_seconds()
            rows, failures = run_locust(keel, plan_file, args)
            cpu = {k: round(v - cpu_before.get(k, 0), 1) for k, v in keel.cpu_seconds().items()}
        chain = verify_chain()
        shutil.rmtree(keel.var_dir, ignore_errors=True)
        report = {
            "when": benchkit.now_iso(), "vendor": vendor, "database": str(db_name),
            "machine": benchkit.machine_facts() | {"load_average_1_5_15": os.getloadavg()},
            "servers": keel.describe(), "locust": version("locust"), "users": args.users, "seconds": args.seconds,
            "data": seeded["data"], "seed_seconds": seeded["seed_seconds"], "server_cpu_seconds": cpu,
            "requests": shape(rows), "failures_csv": failures,
            "audit_chain": {"ok": chain.ok, "events_verified": chain.checked, "problem": chain.problem},
            "total_seconds": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        benchkit.publish(report, args.output or benchkit.BENCH_DIR / f"load_{vendor}.json", print_table)
        total = report["requests"].get("all requests", {})
        return 0 if chain.ok and total.get("failures", 1) == 0 and total.get("requests", 0) > 0 else 1
    finally:
        benchkit.stop_budget()
        if created and not args.keep_db:
            benchkit.drop_database()


def print_table(r: dict) -> None:
    print(f"\nLoad test ({r['vendor']}): {r['users']} users for {r['seconds']} s, locust {r['locust']}; "
          f"{r['servers']['web']} + one Celery worker; server CPU s {r['server_cpu_seconds']}")  # fmt: skip
    print(f"{'request':<46}{'method':>7}{'requests':>9}{'fails':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}")
    for name, x in r["requests"].items():
        print(f"{name:<46}{x['method']:>7}{x['requests']:>9}{x['failures']:>6}{x['rps']:>8}"
              f"{x['p50_ms']:>8.0f}{x['p95_ms']:>8.0f}")  # fmt: skip
    total = r["requests"].get("all requests", {}).get("requests", 0)
    if total:
        web_ms = 1000 * r["server_cpu_seconds"].get("web", 0) / total
        print(f"gunicorn's CPU per request: {web_ms:.0f} ms (less sensitive to other load on the machine)")
    print(f"Machine load average (1, 5, 15 min) at the end: {r['machine']['load_average_1_5_15']}")
    chain = r["audit_chain"]
    verdict = "intact" if chain["ok"] else f"BROKEN: {chain['problem']}"
    print(f"Audit chain afterwards: {verdict}, {chain['events_verified']} events verified.")
    if r["failures_csv"].count("\n") > 1:
        print(f"Failures:\n{r['failures_csv']}")


if __name__ == "__main__":
    benchkit.run(main)
