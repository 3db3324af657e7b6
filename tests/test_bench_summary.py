"""scripts/bench_summary.py on sample reports (no benchmark runs, < 1 s): `make bench`'s last step writes one
table of issue #15's goals, says "not run" for a report this run did not write (missing or stale), "NOT met"
for a goal missed (by its figure, or by a run too small for it), replaces the marked section of a docs file
in place, and fails the run."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_summary.py"


def iso(seconds_from_now: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)).isoformat(timespec="seconds")


def dashboard_report(when: str, *, ratio: float, large: int = 5000) -> dict:
    pages = {"dashboard": {"queries": 19, "median_ms": 100.0}, "summary_api": {"queries": 13, "median_ms": 50.0}}
    bigger = {name: {**page, "median_ms": page["median_ms"] * ratio} for name, page in pages.items()}
    results = [{"data": {"projects": 100}, "pages": pages}, {"data": {"projects": large}, "pages": bigger}]
    return {
        "when": when,
        "results": results,
        "median_ratio_largest_to_smallest": {"dashboard": ratio, "summary_api": ratio},
        "same_query_count_at_every_scale": {"dashboard": True, "summary_api": True},
        # The explicit form: read first.
        "goals": [
            {"name": "dashboard_page", "measured": ratio, "goal": "<= 2x", "goal_met": ratio <= 2, "text": f"{ratio}×"},
            {"name": "summary_api", "measured": ratio, "goal": "<= 2x", "goal_met": ratio <= 2, "text": f"{ratio}×"},
        ],
    }


def sync_report(when: str, *, full: float, resync: float, versions: int = 2000) -> dict:
    # The shape bench_registry_sync.py writes: each goal under `goals` with its ratio, goal and goal_met.
    def goal(ratio: float, target: float, measure: str) -> dict:
        return {"ratio": ratio, "goal": target, "goal_met": ratio <= target, "measure": measure}

    return {
        "when": when,
        "data": {"versions": versions},
        "ratio_full_sync_to_bare_fetch": {"median": full, "runs": [full]},
        "ratio_resync_to_bare_fetch": {"median": resync, "runs": [resync]},
        "goals": {
            "full_sync_to_bare_fetch": goal(full, 1.5, "wall"),
            "resync_to_bare_fetch": goal(resync, 1.1, "wall"),
            "full_sync_to_bare_fetch_cpu": goal(full * 1.1, 1.5, "cpu"),
        },
    }


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--reports-dir", str(tmp_path / "bench"), "--docs", str(tmp_path / "doc.md"),
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_summary_marks_met_not_met_and_not_run_and_replaces_the_docs_section(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    # A report left by an earlier run: not this run's, so "not run", whatever it says.
    (bench / "dashboard_postgresql.json").write_text(json.dumps(dashboard_report(iso(-3600), ratio=1.0)))
    done = run(tmp_path, "--start", "--databases", "sqlite", "postgresql")
    assert done.returncode == 0, done.stderr
    (bench / "dashboard_sqlite.json").write_text(json.dumps(dashboard_report(iso(1), ratio=1.4)))
    (bench / "registry_sync_sqlite.json").write_text(json.dumps(sync_report(iso(1), full=1.2, resync=1.3)))
    # Met by its ratio, but at 20 versions, not the goal's 2,000.
    (bench / "registry_sync_postgresql.json").write_text(
        json.dumps(sync_report(iso(1), full=1.0, resync=1.0, versions=20))
    )
    (bench / "failed_steps.txt").write_text("bench_load.py on SQLite exited 1\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Benchmarks\n\nbefore\n\n<!-- bench-summary:start -->\nold table\n<!-- bench-summary:end -->\n\nafter\n"
    )

    done = run(tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr  # a goal not met, a goal not run, a failed step
    summary = json.loads((bench / "summary.json").read_text())
    cells = {g["name"]: g["cells"] for g in summary["goals"]}
    assert cells["dashboard_page"]["sqlite"]["verdict"] == "met"
    assert cells["dashboard_page"]["sqlite"]["measured"] == "1.4×"  # the report's own text
    assert cells["dashboard_page"]["postgresql"]["verdict"] == "not run"
    assert "stale" in cells["dashboard_page"]["postgresql"]["note"]
    assert cells["full_sync_to_bare_fetch"]["sqlite"]["verdict"] == "met"
    assert cells["resync_to_bare_fetch"]["sqlite"]["verdict"] == "NOT met"
    assert cells["full_sync_to_bare_fetch"]["postgresql"]["verdict"] == "NOT met"
    assert "20 versions" in cells["full_sync_to_bare_fetch"]["postgresql"]["note"]
    assert cells["api_projects"]["sqlite"]["verdict"] == "not run"  # no report at all
    assert summary["all_met"] is False
    assert "step failed: bench_load.py on SQLite exited 1" in summary["problems"]
    assert summary["databases"] == ["sqlite", "postgresql"]
    assert len(summary["load_average"]["start"]) == 3

    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nbefore\n\n<!-- bench-summary:start -->\n| goal (issue #15) |")
    assert text.endswith("<!-- bench-summary:end -->\n\nafter\n")
    assert "old table" not in text
    row = next(line for line in text.splitlines() if line.startswith("| No-change re-sync"))
    assert "1.30× — **NOT met**" in row  # the report's own ratio, never "None"
    assert "not run" in next(line for line in text.splitlines() if line.startswith("| API list `projects`"))
    for fact in ("commit `", "CPUs", "load average", "make bench"):
        assert fact in text
    assert "| goal (issue #15) |" in done.stdout  # printed too

    # Run again: the section is replaced, not added to.
    assert run(tmp_path).returncode == 1
    assert doc.read_text().count("<!-- bench-summary:start -->") == 1


def test_every_goal_met_on_the_databases_run_exits_zero(tmp_path):
    bench = tmp_path / "bench"
    run(tmp_path, "--start", "--databases", "sqlite")
    (bench / "dashboard_sqlite.json").write_text(json.dumps(dashboard_report(iso(1), ratio=1.1)))
    (bench / "registry_sync_sqlite.json").write_text(json.dumps(sync_report(iso(1), full=1.2, resync=1.05)))
    lists = {name: {"status": 200, "ratio": 0.5, "statuses": {"200": 9}}
             for name in ("projects", "model-versions", "deployments", "risks", "findings", "roi-entries")}  # fmt: skip
    lists["audit-events"] = {"status": 403, "ratio": 0, "statuses": {"403": 9}}
    officer = {**lists, "audit-events": {"status": 200, "ratio": 0.4, "statuses": {"200": 9}}}
    api = {"when": iso(1), "personas": {"executive": {"lists": lists}, "risk_officer": {"lists": officer}}}
    (bench / "api_lists_sqlite.json").write_text(json.dumps(api))

    done = run(tmp_path, "--no-docs")

    # verify_audit and lineage are required on PostgreSQL only, which this run did not cover.
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((bench / "summary.json").read_text())
    assert summary["all_met"] is True
    assert "PostgreSQL was not in this run" in done.stdout
    assert not (tmp_path / "doc.md").exists()
