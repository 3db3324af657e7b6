"""#17, done when: a real Evidently report generated in the test and posted to the signals webhook creates
signals; a drift breach opens a finding; a stale signal opens a finding (the beat task, in a real worker).

The report is made by the `evidently` package (0.7) on data this test makes — one column shifted, one not —
in its own virtualenv (`make evidently-env`; scripts/evidently-requirements.txt says why it cannot live in
Keel's), and posted exactly as `Report.run(...).json()` printed it. Generated once per module (~10 s).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from core.roles import Role
from core.services import api_token_create
from governance.models import AuditEvent, Finding, FindingKind, MonitoringSignal
from governance.monitoring.services import monitoring_plan_item_save
from governance.tasks import check_stale_signals
from tests.conftest import need_service
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.integration.conftest import wait_for
from tests.registry_factories import hold
from tests.signoff_factories import approved_request, assess, linked_version

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DRIFT_SHARE = "DriftedColumnsCount(drift_share=0.5).share"
REPORT_SCRIPT = """
import sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference, current = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
sys.stdout.write(snapshot.json())
"""


def _evidently_python() -> str | None:
    candidate = os.environ.get("EVIDENTLY_PYTHON") or str(ROOT / ".venv-evidently" / "bin" / "python")
    return candidate if Path(candidate).is_file() else None


def _write(path: Path, rows: list[tuple[float, float]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["age", "income"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def report_json(tmp_path_factory) -> str:
    """A real Evidently 0.7 data-drift report (with its tests) on 200 reference and 200 current rows: `age`
    moved from a mean of 40 to 60, `income` did not, so one column of two drifted."""
    python = _evidently_python()
    need_service(python is not None, "Evidently's virtualenv (make evidently-env, or EVIDENTLY_PYTHON)")
    rng = random.Random(17)
    folder = tmp_path_factory.mktemp("evidently")
    reference = _write(folder / "reference.csv", [(rng.gauss(40, 5), rng.gauss(50, 10)) for _ in range(200)])
    current = _write(folder / "current.csv", [(rng.gauss(60, 5), rng.gauss(50, 10)) for _ in range(200)])
    done = subprocess.run(
        [python, "-c", REPORT_SCRIPT, str(reference), str(current)], capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _setup():
    lead = make_user(None, Role.TEAM_LEAD)
    project = AIProjectFactory(name="Credit scoring", team=TeamFactory(lead=lead), owner=lead)
    version = linked_version(project, model="credit-model", version="3")
    return lead, project, version


def _post(client, lead, version, body: str, measured_at: dt.datetime):
    key = api_token_create(user=lead, name="evidently-job")[1]
    query = (
        f"?registry={version.registered_model.registry.name}&model=credit-model&version=3"
        f"&measured_at={measured_at.isoformat().replace('+00:00', 'Z')}"
    )
    return client.post(
        f"/api/v1/signals{query}", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.mark.django_db
def test_a_real_evidently_report_creates_signals_and_its_drift_breach_opens_a_finding(client, report_json):
    report = json.loads(report_json)
    assert {m["metric_name"] for m in report["metrics"]} >= {"DriftedColumnsCount(drift_share=0.5)"}
    lead, project, version = _setup()
    reviewer = make_user(None, Role.RISK_OFFICER)
    assess(project, "minimal")
    approval = approved_request(version, lead, reviewer)
    monitoring_plan_item_save(
        project=project, by=lead, data={"name": DRIFT_SHARE, "kind": "drift", "upper": 0.3, "on_breach": "invalidate"}
    )
    measured = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)

    response = _post(client, lead, version, report_json, measured)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["breached"]) == ("evidently", [DRIFT_SHARE])
    values = dict(MonitoringSignal.objects.filter(model_version=version).values_list("name", "value"))
    assert values[DRIFT_SHARE] == 0.5
    assert values["DriftedColumnsCount(drift_share=0.5).count"] == 1.0
    drifts = {n: v for n, v in values.items() if n.startswith("ValueDrift(column=")}
    assert len(drifts) == 2
    assert (
        drifts[next(n for n in drifts if "column=age" in n)] < 0.05 < drifts[next(n for n in drifts if "income" in n)]
    )
    assert values["tests.failed"] >= 1.0
    assert len(values) == body["recorded"]
    assert set(MonitoringSignal.objects.values_list("source", "measured_at").distinct()) == {("evidently", measured)}
    assert MonitoringSignal.objects.get(name=DRIFT_SHARE).kind == "drift"
    # The drift breach: one finding, the sign-off invalidated, all audited.
    [finding] = Finding.objects.filter(kind=FindingKind.SIGNAL_BREACHED, resolved_at=None)
    assert finding.title == f"{DRIFT_SHARE} out of bounds on credit-model v3 (Credit scoring)"
    approval.refresh_from_db()
    assert approval.status == "invalidated"
    recorded = AuditEvent.objects.get(action="monitoring.signals_recorded")
    assert (recorded.after["source"], recorded.after["recorded"], recorded.after["breached"]) == (
        "evidently", body["recorded"], [DRIFT_SHARE],
    )  # fmt: skip
    # The same report again changes nothing.
    again = _post(client, lead, version, report_json, measured)
    assert (again.json()["recorded"], again.json()["duplicates"]) == (0, body["recorded"])


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_stale_check_and_a_report_that_stopped_arriving_opens_a_finding(
    client, report_json, celery_procs
):
    lead, project, version = _setup()
    now = timezone.now().replace(microsecond=0)
    hold(version, "champion", now - dt.timedelta(days=5))
    item = monitoring_plan_item_save(
        project=project, by=lead, data={"name": DRIFT_SHARE, "kind": "drift", "upper": 0.9, "expected_every_hours": 24}
    )
    type(item).objects.filter(pk=item.pk).update(created_at=now - dt.timedelta(days=5))
    assert _post(client, lead, version, report_json, now - dt.timedelta(hours=36)).status_code == 201
    worker = celery_procs.worker()

    result = check_stale_signals.delay()

    wait_for(
        lambda: f"governance.tasks.check_stale_signals[{result.id}] succeeded" in worker.read_log(),
        timeout=60, what="the worker to run check_stale_signals", watch=(worker,),
    )  # fmt: skip
    [finding] = Finding.objects.filter(kind=FindingKind.SIGNAL_STALE, resolved_at=None)
    assert finding.subject_id == f"{item.pk}:{version.pk}"
    assert f"{DRIFT_SHARE} stopped arriving for credit-model v3 (Credit scoring)" == finding.title
    assert AuditEvent.objects.get(action="finding.opened", object_id=str(finding.pk)).task_id == result.id
    # A fresh report resolves it.
    assert _post(client, lead, version, report_json, now - dt.timedelta(minutes=1)).status_code == 201
    assert not Finding.objects.filter(kind=FindingKind.SIGNAL_STALE, resolved_at=None).exists()
