#!/usr/bin/env python
"""`make bench`'s first and last step: one table of issue #15's goals, from the reports this run wrote.

  bench_summary.py --start [--databases sqlite postgresql]   (first: notes the run's start)
  bench_summary.py                                           (last: reads, prints, writes, exits)

`--start` writes var/bench/run.json (the time, the load average, the databases the run covers) and empties
var/bench/failed_steps.txt, where `make bench` notes each step that exits non-zero and goes on. The last
call reads every report a goal comes from (var/bench/<report>_<vendor>.json), ignoring any written before
the run started (a stale report is "not run", never "met"), and prints one Markdown table: each goal, its
measured figure per database with met / NOT met, and the run's facts (CPUs, load average at start and end,
date, git commit, how to re-run). The same table replaces the part of docs/benchmarks.md between
`<!-- bench-summary:start -->` and `<!-- bench-summary:end -->`, and var/bench/summary.json holds it as
data. Exit status 1 when a goal is not met or did not run on a database the run covers (or the goal needs
and the run does not cover), or a step failed; 0 otherwise.

A report's explicit `goals` entry ({name, measured, goal, goal_met}, as a list or a dict by name; and the
API lists' per-list `goal_met`) is read first; without one, the figure is computed from the report's
fields. Every goal also names the scale it holds at: a run with smaller numbers is "NOT met" there,
whatever its ratio. No Django: it reads JSON only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DOCS = ROOT / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- bench-summary:start -->", "<!-- bench-summary:end -->"
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
BOTH, POSTGRES = ("sqlite", "postgresql"), ("postgresql",)
API_LISTS = ("projects", "model-versions", "deployments", "risks", "findings", "roi-entries", "audit-events")
LINEAGE_CASES = {"throughput": 10_000, "fanout-2000": 2_000, "fanout-10000": 10_000}
MET, NOT_MET, NOT_RUN = "met", "NOT met", "not run"


@dataclass
class Cell:
    verdict: str  # MET, NOT_MET or NOT_RUN
    measured: str = ""
    value: float | None = None
    note: str = ""
    required: bool = True


@dataclass
class Goal:
    key: str  # also the name of the report's explicit goal entry
    title: str
    target: str
    report: str  # var/bench/<report>_<vendor>.json
    required: tuple[str, ...]
    evaluate: Callable[[dict], Cell]  # the figure and verdict, computed from the report's own fields
    scale: Callable[[dict], str] = lambda report: ""  # why the run was too small for the goal ("" when it was not)
    present: Callable[[dict], bool] = lambda report: True  # whether the report measured this goal at all
    cells: dict[str, Cell] = field(default_factory=dict)


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def verdict(ok: bool) -> str:
    return MET if ok else NOT_MET


# --- the goals: how each figure is read from its report ---------------------------------------------------


def dashboard(page: str) -> Callable[[dict], Cell]:
    def evaluate(r: dict) -> Cell:
        results = r["results"]
        ratio = r["median_ratio_largest_to_smallest"][page]
        queries = [res["pages"][page]["queries"] for res in results]
        ms = [res["pages"][page]["median_ms"] for res in results]
        same = len(set(queries)) == 1
        text = f"{fmt(ratio)}× ({ms[0]:,.1f} → {ms[-1]:,.1f} ms), {' / '.join(map(str, queries))} queries"
        return Cell(verdict(ratio <= 2 and same), text, ratio, "" if same else "query count differs")

    return evaluate


def dashboard_scale(r: dict) -> str:
    small, large = (res["data"]["projects"] for res in (r["results"][0], r["results"][-1]))
    return "" if small <= 100 and large >= 5_000 else f"ran at {small:,} vs {large:,} projects"


def sync(key: str, goal: float) -> Callable[[dict], Cell]:
    def evaluate(r: dict) -> Cell:
        ratio = r[f"ratio_{key}"]["median"]
        return Cell(verdict(ratio <= goal), f"{fmt(ratio)}× (median of {len(r[f'ratio_{key}']['runs'])})", ratio)

    return evaluate


def sync_scale(r: dict) -> str:
    versions = r["data"]["versions"]
    return "" if versions >= 2_000 else f"ran with {versions:,} versions"


def verify_audit(r: dict) -> Cell:
    small, large = r["sizes"][0], r["sizes"][-1]
    rate = large["rows_per_second"]
    peaks = small["tracemalloc_peak_kib"], large["tracemalloc_peak_kib"]
    flat = len(r["sizes"]) > 1 and peaks[1] <= 1.5 * peaks[0]
    text = f"{rate:,} rows/s at {large['events']:,}; peak {peaks[0]:,} → {peaks[1]:,} KiB"
    return Cell(verdict(rate >= 50_000 and flat), text, rate, "" if flat else "memory not shown flat")


def verify_scale(r: dict) -> str:
    events = r["sizes"][-1]["events"]
    return "" if events >= 100_000 else f"ran at {events:,} events"


def api_list(name: str) -> Callable[[dict], Cell]:
    def evaluate(r: dict) -> Cell:
        lists = {p: x.get("lists", {}).get(name) for p, x in r["personas"].items()}
        readers = {p: x for p, x in lists.items() if x and x.get("status") == 200}
        if not readers:
            return Cell(NOT_MET, "no persona could read it")
        worst = min(readers, key=lambda p: readers[p]["ratio"])
        ratio = readers[worst]["ratio"]
        flags = [x.get("goal_met") for x in readers.values()]
        met = all(flags) if all(isinstance(f, bool) for f in flags) else ratio >= 0.3
        others = [p for p, x in readers.items() if set(x.get("statuses", {"200": 1})) != {"200"}]
        note = f"non-200 answers under load ({', '.join(others)})" if others else ""
        return Cell(verdict(met and not others), f"{fmt(ratio)}× (worst: {worst.replace('_', ' ')})", ratio, note)

    return evaluate


def has_list(name: str) -> Callable[[dict], bool]:
    return lambda r: any(name in x.get("lists", {}) for x in r.get("personas", {}).values())


def lineage(case: str) -> Callable[[dict], Cell]:
    def evaluate(r: dict) -> Cell:
        c = next(c for c in r["cases"] if c["case"] == case)
        rate = c.get("events_per_second")
        stopped = c.get("cut_short") or (c.get("error") or "").split("\n")[0]
        if rate is None:
            return Cell(NOT_MET, "no end-to-end rate", None, stopped)
        return Cell(verdict(rate >= 500 and not stopped), f"{fmt(rate)} events/s", rate, stopped or "")

    return evaluate


def lineage_scale(case: str) -> Callable[[dict], str]:
    def scale(r: dict) -> str:
        c = next(c for c in r["cases"] if c["case"] == case)
        return "" if c.get("events", 0) >= LINEAGE_CASES[case] else f"ran with {c.get('events', 0):,} events"

    return scale


def has_case(case: str) -> Callable[[dict], bool]:
    return lambda r: any(c.get("case") == case for c in r.get("cases", []))


def goals() -> list[Goal]:
    dash = "≤ 2×, same query count"
    rows = [
        Goal("dashboard_page", "Executive dashboard page, 5,000 vs 100 projects", dash, "dashboard", BOTH,
             dashboard("dashboard"), dashboard_scale),
        Goal("summary_api", "`/api/v1/portfolio/summary`, 5,000 vs 100 projects", dash, "dashboard", BOTH,
             dashboard("summary_api"), dashboard_scale),
        Goal("full_sync_to_bare_fetch", "Registry full sync of 2,000 MLflow versions / bare paginated fetch",
             "≤ 1.5×", "registry_sync", BOTH, sync("full_sync_to_bare_fetch", 1.5), sync_scale),
        Goal("resync_to_bare_fetch", "No-change re-sync / bare fetch", "≤ 1.1× (bare fetch + 10 %)",
             "registry_sync", BOTH, sync("resync_to_bare_fetch", 1.1), sync_scale),
        Goal("verify_audit", "`verify_audit` at 100,000+ events", "≥ 50,000 rows/s, memory flat", "verify_audit",
             POSTGRES, verify_audit, verify_scale),
    ]  # fmt: skip
    rows += [
        Goal(f"api_{name}", f"API list `{name}` / trivial JSON endpoint (req/s)", "≥ 0.3×", "api_lists", BOTH,
             api_list(name), present=has_list(name))
        for name in API_LISTS
    ]  # fmt: skip
    rows += [
        Goal(f"lineage_{case}", f"Lineage ingest end to end, {case} ({n:,} events)", "≥ 500 events/s",
             "lineage_e2e", POSTGRES, lineage(case), lineage_scale(case), has_case(case))
        for case, n in LINEAGE_CASES.items()
    ]  # fmt: skip
    return rows


# --- reading ----------------------------------------------------------------------------------------------


def explicit_goal(report: dict, name: str) -> dict | None:
    """The report's own entry for this goal, when it has one with a boolean goal_met."""
    goals_ = report.get("goals")
    if isinstance(goals_, dict):
        goals_ = [{"name": k, **v} for k, v in goals_.items() if isinstance(v, dict)]
    for entry in goals_ if isinstance(goals_, list) else []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get("goal_met"), bool):
            return entry
    return None


def load_report(path: Path, since: float | None) -> tuple[dict | None, str]:
    """The report, or None and why not: missing, unreadable, or written before the run started."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError) as exc:
        return None, f"unreadable: {exc}"
    when = report.get("when") if isinstance(report, dict) else None
    try:
        written = dt.datetime.fromisoformat(when).timestamp() if when else path.stat().st_mtime
    except (TypeError, ValueError):
        written = path.stat().st_mtime
    if since is not None and written < int(since):  # `when` is to the second
        return None, f"stale (written {when or 'before this run'})"
    return report, ""


def evaluate_cell(goal: Goal, report: dict | None, why: str, required: bool) -> Cell:
    if report is None:
        return Cell(NOT_RUN, note=why, required=required)
    try:
        if not goal.present(report):
            return Cell(NOT_RUN, note="not in the report", required=required)
        entry = explicit_goal(report, goal.key)
        if entry is not None:
            # {"measured": …} or, as the registry sync writes it, {"ratio": …}
            value = entry.get("measured", entry.get("ratio"))
            shown = f"{fmt(value)}×" if "measured" not in entry and "ratio" in entry else fmt(value)
            cell = Cell(verdict(entry["goal_met"]), str(entry.get("text") or shown),
                        value if isinstance(value, int | float) else None, str(entry.get("note") or ""))  # fmt: skip
        else:
            cell = goal.evaluate(report)
        too_small = goal.scale(report)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, StopIteration, ZeroDivisionError) as exc:
        return Cell(NOT_MET, "report unreadable", note=f"{type(exc).__name__}: {exc}", required=required)
    if too_small:
        cell.verdict, cell.note = NOT_MET, "; ".join(filter(None, [too_small, cell.note]))
    cell.required = required
    return cell


def summarise(reports_dir: Path, since: float | None, covered: list[str]) -> list[Goal]:
    rows = goals()
    for goal in rows:
        for vendor in DATABASES:
            report, why = load_report(reports_dir / f"{goal.report}_{vendor}.json", since)
            if report is None and not why and vendor not in covered:
                why = "not in this run"
            goal.cells[vendor] = evaluate_cell(goal, report, why, required=vendor in goal.required)
    return rows


def failures(rows: list[Goal], covered: list[str], failed_steps: list[str]) -> list[str]:
    """What keeps the run from "every goal met": each required cell not met, and each failed step."""
    out = [f"{g.title} on {DATABASES[v]}: {c.verdict}" for g in rows for v, c in g.cells.items()
           if c.required and c.verdict != MET and (v in covered or c.verdict == NOT_MET)]  # fmt: skip
    return out + [f"step failed: {step}" for step in failed_steps]


# --- writing ----------------------------------------------------------------------------------------------


def cell_text(cell: Cell) -> str:
    if cell.verdict == NOT_RUN:
        text = "not run"
    else:
        mark = "met" if cell.verdict == MET else "**NOT met**"
        text = f"{cell.measured} — {mark}"
    notes = [n for n in (cell.note, "" if cell.required else "not required") if n]
    return text + (f" ({'; '.join(notes)})" if notes else "")


def markdown(rows: list[Goal], facts: dict, problems: list[str]) -> str:
    lines = [f"| goal (issue #15) | target | {' | '.join(DATABASES.values())} |", "|---|---|---|---|"]
    for g in rows:
        cells = " | ".join(cell_text(g.cells[v]).replace("|", "/") for v in DATABASES)
        lines.append(f"| {g.title} | {g.target} | {cells} |")
    covered = ", ".join(DATABASES[v] for v in facts["databases"]) or "none"
    verdict_line = (
        "**Every goal met** on the databases this run covered."
        if not problems
        else f"**{len(problems)} not met or not run:** "
        + "; ".join(problems[:12])
        + ("; …" if len(problems) > 12 else "")
        + "."
    )
    if "postgresql" not in facts["databases"]:
        verdict_line += (
            " PostgreSQL was not in this run (`BENCH_POSTGRES_URL` unset): issue #15 asks for every goal there."
        )
    load = facts["load_average"]
    lines += [
        "",
        verdict_line,
        "",
        f"Run: {facts['started']} → {facts['finished']} UTC, commit `{facts['commit']}`, {facts['cpus']} CPUs, "
        f"load average (1/5/15 min) {fmt_load(load['start'])} at the start and {fmt_load(load['end'])} at the end; "
        f"databases: {covered}. Re-run: `make bench` (add `BENCH_POSTGRES_URL=postgres://…` for the PostgreSQL "
        "column); one row alone: its script under `scripts/` (docs/benchmarks.md, \"Summary of the last run\").",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def fmt_load(load) -> str:
    return " / ".join(f"{x:.2f}" for x in load) if load else "unknown"


def replace_section(text: str, table: str) -> str:
    """The text with what lies between the markers replaced by `table` (the markers appended when absent)."""
    block = f"{START_MARK}\n{table}{END_MARK}"
    if START_MARK in text and END_MARK in text.split(START_MARK, 1)[1]:
        head, rest = text.split(START_MARK, 1)
        return head + block + rest.split(END_MARK, 1)[1]
    return text.rstrip("\n") + "\n\n## Summary of the last run\n\n" + block + "\n"


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,  # noqa: S607
                              text=True, timeout=10, check=True)  # fmt: skip
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def start(args) -> int:
    args.reports_dir.mkdir(parents=True, exist_ok=True)
    run = {"started": now(), "started_epoch": dt.datetime.now(dt.UTC).timestamp(),
           "load_average": list(os.getloadavg()), "databases": args.databases}  # fmt: skip
    (args.reports_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    (args.reports_dir / "failed_steps.txt").write_text("")
    print(f"bench: run started {run['started']} on {', '.join(args.databases)}")
    return 0


def finish(args) -> int:
    try:
        run = json.loads((args.reports_dir / "run.json").read_text())
    except (OSError, ValueError):
        run = {}  # run alone, after the benchmarks: every report counts, whatever its age
    since = None if args.all_reports else run.get("started_epoch")
    covered = args.databases or run.get("databases") or list(DATABASES)
    try:
        failed_steps = [s for s in (args.reports_dir / "failed_steps.txt").read_text().splitlines() if s.strip()]
    except OSError:
        failed_steps = []
    rows = summarise(args.reports_dir, since, covered)
    problems = failures(rows, covered, failed_steps)
    facts = {"started": run.get("started", "unknown"), "finished": now(), "commit": git_commit(),
             "cpus": os.cpu_count(), "databases": covered,
             "load_average": {"start": run.get("load_average"), "end": list(os.getloadavg())}}  # fmt: skip
    table = markdown(rows, facts, problems)
    print("\nIssue #15's goals, this run:\n")
    print(table)
    if args.docs:
        args.docs.write_text(replace_section(args.docs.read_text() if args.docs.exists() else "", table))
        print(f"Table written into {args.docs}")
    summary = {**facts, "all_met": not problems, "problems": problems, "failed_steps": failed_steps,
               "goals": [{"name": g.key, "title": g.title, "goal": g.target, "report": g.report,
                          "cells": {v: asdict(c) for v, c in g.cells.items()}} for g in rows]}  # fmt: skip
    output = args.output or args.reports_dir / "summary.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"JSON: {output}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", action="store_true", help="note the run's start (make bench's first step)")
    parser.add_argument("--databases", nargs="*", choices=list(DATABASES), default=None,
                        help="the databases this run covers [--start: sqlite; summary: as --start noted]")  # fmt: skip
    parser.add_argument("--reports-dir", type=Path, default=BENCH_DIR, help="where the reports are [var/bench]")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the Markdown file whose marked section is replaced")
    parser.add_argument("--no-docs", dest="docs", action="store_const", const=None, help="leave the docs alone")
    parser.add_argument("--output", type=Path, default=None, help="the summary JSON [<reports-dir>/summary.json]")
    parser.add_argument("--all-reports", action="store_true", help="count reports from before the run started too")
    args = parser.parse_args(argv)
    if args.start:
        args.databases = args.databases or ["sqlite"]
        return start(args)
    return finish(args)


if __name__ == "__main__":
    sys.exit(main())
