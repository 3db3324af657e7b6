"""scripts/bench_verify_audit.py with tiny numbers, so `make bench`'s verify_audit step cannot rot unnoticed:
it builds a chain through the real append path on a throwaway SQLite database, verifies it at two sizes,
walks it the old way for the ratio, writes its report and drops its database (~10 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_verify_audit.py"


def test_the_verify_audit_benchmark_measures_both_sizes_and_cleans_up(tmp_path):
    output = tmp_path / "verify.json"
    # The embedded default whatever the suite runs on: the script makes its own database.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    args = ["--events", "300", "--small", "120", "--batch", "64", "--chunk-size", "50", "--repeats", "2",
            "--budget", "90", "--output", str(output)]  # fmt: skip

    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["workload"]["head_seq"] == 300
    assert [s["events"] for s in report["sizes"]] == [120, 300]
    for size in report["sizes"]:
        assert len(size["runs"]) == 2
        assert size["rows_per_second"] > 0
        assert size["cpu_rows_per_second"] > 0
        assert size["tracemalloc_peak_kib"] > 0
    assert report["reference"]["events"] == 300
    assert set(report["speedup_vs_reference"]) == {"rows_per_second", "cpu_rows_per_second"}
    # Issue #15's goal as bench_summary.py reads it: not met at 300 events (the goal is at 100,000+).
    (goal,) = report["goals"]
    assert (goal["name"], goal["measured"], goal["goal_met"]) == (
        "verify_audit",
        report["sizes"][-1]["rows_per_second"],
        False,
    )
    assert not Path(report["database"]["name"]).exists()  # the throwaway database is dropped
    assert "verify_audit benchmark (SQLite" in done.stdout
