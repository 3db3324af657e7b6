"""scripts/bench_lineage_e2e.py with tiny numbers, so `make bench`'s end-to-end step cannot rot unnoticed:
it starts gunicorn and a Celery worker on a throwaway SQLite database, posts through HTTP, waits for the
applied state, stops its servers and drops its databases (~20 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_lineage_e2e.py"


def test_the_end_to_end_benchmark_runs_both_cases_and_cleans_up(tmp_path):
    output = tmp_path / "e2e.json"
    # The embedded default whatever the suite runs on: the script makes its own databases and broker.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BENCH_REDIS_URL")}
    args = ["--events", "40", "--clients", "2", "--burst", "10", "--duplicate-events", "10", "--fanout", "10",
            "--datasets-per-layer", "20", "--budget", "90", "--output", str(output)]  # fmt: skip

    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    throughput, fanout = report["cases"]
    assert (throughput["case"], throughput["accepted"], throughput["end_state"]["runs"]) == ("throughput", 40, 40)
    assert throughput["events_per_second"] > 0
    assert throughput["end_state"]["pending"] == 0
    assert throughput["duplicates"]["statuses"] == {"200": 10}
    assert throughput["ingest_to_duplicate_ratio"] > 0
    assert (fanout["case"], fanout["accepted"], fanout["end_state"]["labelled_outputs"]) == ("fanout-10", 10, 10)
    assert set(throughput["latency_ms"]) == {"p50", "p95", "max"}
    assert set(throughput["cpu_ms_per_event"]) == {"web", "worker", "clients"}
    # Each case's goal (>= 500 events/s) as bench_summary.py reads it.
    goals = {g["name"]: g for g in report["goals"]}
    assert set(goals) == {"lineage_throughput", "lineage_fanout-10"}
    assert goals["lineage_throughput"]["measured"] == throughput["events_per_second"]
    assert goals["lineage_throughput"]["goal_met"] == (throughput["events_per_second"] >= 500)
    # Nothing left behind: the databases are dropped and the servers' run folders removed.
    for case in report["cases"]:
        assert not Path(case["database"]).exists()
        assert not Path(case["run_dir"]).exists()
    assert "Lineage ingest end to end through HTTP (sqlite)" in done.stdout
