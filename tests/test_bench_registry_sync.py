"""scripts/bench_registry_sync.py with tiny numbers, so `make bench`'s registry sync step cannot rot unnoticed:
it starts a real MLflow server, fills it, runs one round of bare fetch, MLflow's client, full sync and
no-change re-sync on a throwaway SQLite database, writes its report with the ratios and drops its database
(~15 s on a quiet machine, most of it MLflow starting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_registry_sync.py"

pytestmark = pytest.mark.integration


def test_the_registry_sync_benchmark_reports_each_ratio_and_cleans_up(tmp_path):
    output = tmp_path / "sync.json"
    # The embedded default whatever the suite runs on: the script makes its own database.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    args = [
        "--models",
        "2",
        "--versions",
        "3",
        "--rounds",
        "1",
        "--budget",
        "200",
        "--output",
        str(output),
        "--db-label",
        f"registry_sync_test_{os.getpid()}",
    ]  # not the file a `make bench` running now uses

    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    assert (report["data"]["versions"], report["data"]["stored_versions"]) == (6, 6)
    assert report["full_sync"]["runs"][0]["created"] == 2 + 6
    assert report["no_change_resync"]["runs"][0]["audit_events"] == 0
    for key in ("ratio_full_sync_to_bare_fetch", "ratio_resync_to_bare_fetch", "ratio_mlflow_client_to_bare_fetch"):
        assert report[key]["median"] > 0
    assert len(report["load_average"]["start"]) == 3
    assert not Path(report["database"]["name"]).exists()  # the throwaway database is dropped
    assert "MLflow client / bare fetch" in done.stdout
