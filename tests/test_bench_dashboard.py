"""scripts/bench_dashboard.py with tiny numbers, so `make bench`'s dashboard step cannot rot unnoticed: it
seeds two scales of the portfolio on a throwaway SQLite database (seed_portfolio's fast path: plain-row
ledger, INSERT … SELECT roll-ups), times the page and the summary API at each, writes its report with
issue #15's goals and drops its database (~10 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_dashboard.py"


def test_the_dashboard_benchmark_measures_both_scales_and_reports_its_goals(tmp_path):
    output = tmp_path / "dashboard.json"
    # The embedded default whatever the suite runs on: the script makes its own database.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    args = [
        "--scales",
        "4",
        "9",
        "--months",
        "3",
        "--requests",
        "2",
        "--budget",
        "120",
        "--output",
        str(output),
        "--db-label",
        f"dashboard_test_{os.getpid()}",
    ]  # not the database a `make bench` running now uses
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    small, large = report["results"]
    assert (small["data"]["projects"], large["data"]["projects"]) == (4, 9)
    assert (small["data"]["roi_entries"], large["data"]["roi_entries"]) == (4 * 3 * 4, 9 * 3 * 4)
    assert large["data"]["roi_rollup_cells"] == 9 * 3
    goals = {g["name"]: g for g in report["goals"]}
    assert set(goals) == {"dashboard_page", "summary_api"}
    for name, page in (("dashboard_page", "dashboard"), ("summary_api", "summary_api")):
        assert goals[name]["measured"] == report["median_ratio_largest_to_smallest"][page]
        assert goals[name]["scales"] == [4, 9]
    assert not Path(report["database"]["name"]).exists()  # the throwaway database is dropped
    assert "same query count at every scale" in done.stdout
