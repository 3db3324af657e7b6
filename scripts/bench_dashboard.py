#!/usr/bin/env python
"""`make bench`: the executive dashboard's server time at 100 and at 5,000 projects.

One run, bounded (--budget, default 900 s):
  1. builds a throwaway Keel database: SQLite under var/bench/ by default; with DATABASE_URL set, a
     separate database named <name>_bench_dashboard on that server (created and dropped here, never
     the configured database itself);
  2. seeds the first scale (`seed_portfolio`: teams, projects, FX rates and --months of ROI entries
     per project, bulk-created without audit events, and their roll-up, which the dashboard reads) and
     adds governance data the way a busy portfolio has it (0-3 risks per project, an open finding on every seventh);
  3. signs in an executive with Django's test Client and times GET /governance/dashboard/ (the full
     page: every tile, the five charts, the projects table) and GET /api/v1/portfolio/summary,
     --requests times each after a warm-up, counting the queries of one request;
  4. seeds up to the next scale and measures again;
  5. prints a table and writes var/bench/dashboard_<vendor>.json, with issue #15's goals under `goals`.

The times are server time in-process (request in, response rendered), not network or browser time.
Run it with `make bench`, or `.venv/bin/python scripts/bench_dashboard.py --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import benchkit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.roles import Role
from governance.models import Finding, FindingKind, Risk, RiskCategory, RiskStatus, Severity
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject, ROIEntry, ROIMonthRollup

PAGES = {
    "dashboard": "/governance/dashboard/",
    "summary_api": "/api/v1/portfolio/summary",
}


def add_governance(prefix: str, owner) -> dict[str, int]:
    """0-3 risks per project (scores and statuses spread over the whole range) and an open finding on
    every seventh project, bulk-created (the services would audit each; not what is measured here)."""
    ids = list(AIProject.objects.filter(slug__startswith=f"{prefix}-").order_by("pk").values_list("pk", flat=True))
    categories = RiskCategory.values
    statuses = RiskStatus.values
    review = timezone.localdate() + dt.timedelta(days=90)
    risks = []
    for i, pk in enumerate(ids):
        for k in range(i % 4):
            lk, im = 1 + (i + k) % 5, 1 + (i * 3 + k) % 5
            risk = Risk(
                project_id=pk, title=f"Risk {k} of {prefix} {i}", category=categories[(i + k) % len(categories)],
                likelihood=lk, impact=im, residual_likelihood=max(1, lk - 1), residual_impact=im,
                owner=owner, status=statuses[(i + k) % len(statuses)], next_review_date=review,
            )  # fmt: skip
            risk.compute_scores()
            risks.append(risk)
    Risk.objects.bulk_create(risks, batch_size=5000)
    findings = [
        Finding(kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.HIGH, title=f"Finding on {prefix} {i}",
                subject_type="bench", subject_id=f"{prefix}-{i}", project_id=pk)
        for i, pk in enumerate(ids) if i % 7 == 0
    ]  # fmt: skip
    Finding.objects.bulk_create(findings, batch_size=5000)
    return {"risks": len(risks), "findings": len(findings)}


def measure(client: Client, path: str, requests: int) -> dict:
    for _ in range(2):  # warm-up: connection, template and plan caches
        client.get(path)
    counter = benchkit.QueryCounter()
    with connection.execute_wrapper(counter):
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    return {
        "path": path,
        "queries": counter.count,
        "bytes": len(response.content),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(benchkit.percentile(times, 95) * 1000, 1),
        "min_ms": round(min(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "requests": requests,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100, 5000], help="portfolio sizes, ascending")
    parser.add_argument("--months", type=int, default=36, help="months of ROI entries per project")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page and scale")
    parser.add_argument("--budget", type=int, default=900, help="seconds before the run gives up")
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway database")
    parser.add_argument("--db-label", default="dashboard", help="names the throwaway database [dashboard]")
    parser.add_argument("--output", type=Path, default=None, help="default var/bench/dashboard_<vendor>.json")
    args = parser.parse_args()
    if args.scales != sorted(args.scales):
        parser.error("--scales must be ascending (each scale adds to the one before)")
    return args


def signed_in_executive() -> tuple[Client, object]:
    """A test Client signed in as an executive (the dashboard's audience), and the owner of the seeded risks."""
    User = get_user_model()
    executive = User.objects.create_user("bench-exec")
    executive.groups.add(Group.objects.get(name=Role.EXECUTIVE))
    risk_owner = User.objects.create_user("bench-risk-owner")
    client = Client()
    client.force_login(executive)
    return client, risk_owner


def measure_scale(client: Client, *, n: int, scale: int, seeded: int, risk_owner, args) -> dict:
    """Seed from `seeded` up to `scale` projects, then time every page at that size."""
    started = time.perf_counter()
    counts = seed_portfolio(scale=scale - seeded, months=args.months, prefix=f"s{n}")
    governance = add_governance(f"s{n}", risk_owner)
    seed_seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")  # fresh statistics, as autovacuum would soon have them
    data = {
        "projects": AIProject.objects.count(),
        "roi_entries": ROIEntry.objects.count(),
        "roi_rollup_cells": ROIMonthRollup.objects.count(),  # what the dashboard reads (projects × months)
        "risks": Risk.objects.count(),
        "findings": Finding.objects.count(),
    }
    print(f"  seeded to {data['projects']} projects, {data['roi_entries']} ROI entries "
          f"({data['roi_rollup_cells']} roll-up cells) in {seed_seconds:.1f} s", flush=True)  # fmt: skip
    pages = {name: measure(client, path, args.requests) for name, path in PAGES.items()}
    for name, r in pages.items():
        print(f"  {name}: median {r['median_ms']} ms, p95 {r['p95_ms']} ms, {r['queries']} queries", flush=True)
    return {"scale": scale, "seed_seconds": round(seed_seconds, 1), "seeded": {**counts, **governance},
            "data": data, "pages": pages}  # fmt: skip


def main() -> int:
    args = parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    t0 = benchkit.start_budget(args.budget)
    db_created = False
    try:
        vendor, db_name = benchkit.setup_database(args.db_label)
        db_created = True
        print(f"Keel DB: {vendor} {db_name}", flush=True)
        client, risk_owner = signed_in_executive()
        results, seeded = [], 0
        for n, scale in enumerate(args.scales):
            results.append(measure_scale(client, n=n, scale=scale, seeded=seeded, risk_owner=risk_owner, args=args))
            seeded = scale
        report = {
            "when": benchkit.now_iso(),
            "machine": benchkit.machine_facts(),
            "database": {"vendor": vendor, "name": str(db_name)},
            "months": args.months,
            "results": results,
            "same_query_count_at_every_scale": {
                name: len({r["pages"][name]["queries"] for r in results}) == 1 for name in PAGES
            },
            # The goal of issue #15: the largest scale's median within 2x the smallest's.
            "median_ratio_largest_to_smallest": {
                name: round(results[-1]["pages"][name]["median_ms"] / results[0]["pages"][name]["median_ms"], 2)
                for name in PAGES
            },
            "total_seconds": round(time.perf_counter() - t0, 1),
        }
        report["goals"] = goals(report)
        benchkit.publish(report, args.output or benchkit.BENCH_DIR / f"dashboard_{vendor}.json", print_table)
        return 0
    finally:
        benchkit.stop_budget()
        if db_created and not args.keep_db:
            benchkit.drop_database()


def goals(r: dict) -> list[dict]:
    """Issue #15's goal for each page, as scripts/bench_summary.py reads it: the largest scale's median within
    2× the smallest's, with the same query count (the scales are in the report; the summary checks them)."""
    out = []
    for name in PAGES:
        ratio, same = r["median_ratio_largest_to_smallest"][name], r["same_query_count_at_every_scale"][name]
        queries = " / ".join(str(res["pages"][name]["queries"]) for res in r["results"])
        ms = [res["pages"][name]["median_ms"] for res in r["results"]]
        out.append({
            "name": "dashboard_page" if name == "dashboard" else name, "measured": ratio,
            "goal": "<= 2x the smallest scale's median, same query count", "goal_met": ratio <= 2 and same,
            "text": f"{ratio}× ({ms[0]} → {ms[-1]} ms), {queries} queries",
            "note": "" if same else "query count differs", "scales": [res["data"]["projects"] for res in r["results"]],
        })  # fmt: skip
    return out


def print_table(r: dict) -> None:
    print(f"\nDashboard benchmark: {r['months']} months of ROI entries per project, {r['database']['vendor']}, "
          f"{r['machine']['cpus']} CPUs, server time in-process")  # fmt: skip
    print(f"{'projects':>9} {'ROI entries':>12} {'page':<12} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
          f"{'KiB':>6} {'seeded in s':>12}")  # fmt: skip
    print("-" * 84)
    for res in r["results"]:
        data = res["data"]
        for name, page in res["pages"].items():
            kib, seeded = page["bytes"] // 1024, res["seed_seconds"]
            print(f"{data['projects']:>9,} {data['roi_entries']:>12,} {name:<12} {page['median_ms']:>10} "
                  f"{page['p95_ms']:>8} {page['queries']:>8} {kib:>6} {seeded:>12}")  # fmt: skip
    print("-" * 84)
    same = r["same_query_count_at_every_scale"]
    print("same query count at every scale: " + ", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in same.items()))
    ratios = r["median_ratio_largest_to_smallest"]
    print("median, largest / smallest scale: " + ", ".join(f"{n} {ratio}x" for n, ratio in ratios.items()))


if __name__ == "__main__":
    benchkit.run(main)
