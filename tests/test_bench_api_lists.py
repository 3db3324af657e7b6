"""scripts/bench_api_lists.py with tiny numbers, so `make bench`'s API-lists step cannot rot unnoticed: it
seeds a throwaway SQLite database, serves it with gunicorn, requests every list as each persona, stops
its server and drops its database (~30 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_api_lists.py"
LISTS = {"projects", "model-versions", "deployments", "risks", "findings", "roi-entries", "audit-events"}


def test_the_api_lists_benchmark_measures_every_list_against_the_baseline_and_cleans_up(tmp_path):
    output = tmp_path / "api_lists.json"
    # The embedded default whatever the suite runs on: the script makes its own database.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    args = ["--projects", "12", "--months", "2", "--versions-per-model", "2", "--audit-events", "120",
            "--clients", "2", "--seconds", "0.3", "--budget", "120", "--output", str(output)]  # fmt: skip

    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["data"]["projects"] == 12
    assert report["data"]["model_versions"] == 24
    assert report["data"]["audit_events"] >= 120
    executive, lead, officer = (report["personas"][p] for p in ("executive", "team_lead", "risk_officer"))
    for persona in (executive, lead, officer):
        assert set(persona["baseline"]["before"]["statuses"]) == {"200"}
        assert set(persona["lists"]) == LISTS
    # Every list but the audit trail is each persona's to read, and answered only 200s under load.
    for persona in (executive, lead):
        readable = {name for name, r in persona["lists"].items() if r["status"] == 200}
        assert readable == LISTS - {"audit-events"}
        assert persona["lists"]["audit-events"]["status"] == 403
    for name, r in officer["lists"].items():
        assert (r["status"], set(r["statuses"])) == (200, {"200"}), name
        assert r["requests"] > 0, name
        assert r["ratio"] > 0, name
    # A verdict per list at the top level: the lowest ratio of the personas that read it, against the goal.
    for name in LISTS:
        readers = [p for p in (executive, lead, officer) if "ratio" in p["lists"][name]]
        assert report[name]["ratio"] == min(p["lists"][name]["ratio"] for p in readers), name
        assert report[name]["goal_met"] is (report[name]["ratio"] >= report["goal_ratio"]), name
    assert set(report["audit-events"]["by_persona"]) == {"risk_officer"}
    assert "goal met" in done.stdout or "goal NOT met" in done.stdout
    # The team lead sees one team of the portfolio's five, so fewer bytes than the executive.
    assert lead["lists"]["projects"]["bytes"] < executive["lists"]["projects"]["bytes"]
    # Nothing left behind: the database is dropped and the server's run folder removed.
    assert not Path(report["database"]).exists()
    assert not Path(report["run_dir"]).exists()
    assert "API lists under gunicorn" in done.stdout
