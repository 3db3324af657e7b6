"""The risk officer's journey on the seeded demo, in a real browser (the system Chromium, via Playwright).

The demo's registry is synced from a stand-in for its MLflow server (the same models, aliases and runs
seed_demo_mlflow gives it, without the server): claims-fraud-scorer v3 serves production, v4 is the
challenger whose sign-off waits. The versions' runs name nobody, so the author is unknown and the
request needs one more distinct approver than its policy's one risk officer: the DPO.

Ravi (risk officer) opens his home page and finds the request in his queue, reads the warnings, the
metrics of v4 against v3 in production and the computation of each risk score, and approves; Dana (DPO)
finds it in hers and approves too; the deployment gate's answer for v4 changes from pending to allowed.
Every page is checked at 1440 px and 390 px: no console error, no horizontal scroll.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from projects.management.commands.seed_demo import DEMO_REGISTRY
from projects.models import AIProject, RegistryKind
from projects.registries import services as registry_services
from projects.registries.adapters.base import RemoteModel, RemoteRun, RemoteVersion, Snapshot
from projects.registries.sync import registry_sync
from tests.e2e.browser import assert_page_sound, demo_users, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390
SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-journey-risk-officer-signoff.png"
MODEL = "claims-fraud-scorer"
GATE = f"/api/v1/gate?registry={DEMO_REGISTRY}&model={MODEL}&version=4&environment=production"
# run id → metrics of the run that trained the version
RUNS = {
    "run-v3": {"auc": 0.902, "recall": 0.71, "precision": 0.83},
    "run-v4": {"auc": 0.918, "recall": 0.74, "precision": 0.83},
}


class DemoMlflow:
    """What the demo's MLflow server holds for the two claims and credit models, runs included."""

    def __init__(self, claims_slug: str, credit_slug: str):
        self.requests_made = 0
        self.models = {
            MODEL: RemoteModel(name=MODEL, tags={"keel.project": claims_slug},
                               aliases={"champion": "3", "production": "3", "challenger": "4"}),
            "credit-scorecard": RemoteModel(name="credit-scorecard", tags={"keel.project": credit_slug},
                                            aliases={"champion": "3", "production": "3"}),
        }  # fmt: skip
        self.versions = {
            (MODEL, v): RemoteVersion(model_name=MODEL, version=v, run_id=f"run-v{v}" if v != "2" else "",
                                      source=f"s3://models/{MODEL}/{v}", status="READY")
            for v in ("2", "3", "4")
        } | {
            ("credit-scorecard", v): RemoteVersion(model_name="credit-scorecard", version=v, status="READY",
                                                   source=f"s3://models/credit-scorecard/{v}")
            for v in ("1", "2", "3")
        }  # fmt: skip

    def fetch_snapshot(self) -> Snapshot:
        return Snapshot(models=self.models, versions=self.versions, requests=2)

    def fetch_run(self, run_id: str) -> RemoteRun:
        self.requests_made += 1
        metrics = {
            k: {"value": v, "timestamp": "2026-11-20T08:00:00+00:00", "step": 10} for k, v in RUNS[run_id].items()
        }
        started = dt.datetime(2026, 11, 20, 7, 12, tzinfo=dt.UTC)
        return RemoteRun(
            run_id=run_id, experiment_id="3", status="FINISHED", metrics=metrics, started_at=started,
            ended_at=started + dt.timedelta(minutes=48), params={"max_depth": "6", "eta": "0.1"}, params_count=2,
        )  # fmt: skip


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """`make run`'s demo without its MLflow server: users, portfolio, ROI, the registry synced from the
    stand-in above, then governance (which asks for the sign-off of claims-fraud-scorer v4)."""
    settings.KEEL_GATE_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    seed_demo(settings, tmp_path, commands=("seed_demo", "seed_demo_roi"))
    registry = registry_services.registry_create(
        by=None, name=DEMO_REGISTRY, kind=RegistryKind.MLFLOW, base_url="http://127.0.0.1:5055", enabled=False
    )
    slugs = dict(
        AIProject.objects.filter(name__in=["Claims fraud scoring", "Credit scoring"]).values_list("name", "slug")
    )
    registry_sync(registry=registry, adapter=DemoMlflow(slugs["Claims fraud scoring"], slugs["Credit scoring"]))
    call_command("seed_demo_governance", stdout=io.StringIO())
    return demo_users(tmp_path)


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def check_both_widths(page) -> None:
    """No console error and no sideways scroll at a desktop's and a phone's width; back to the desktop."""
    assert_page_sound(page, width=PHONE)
    assert_page_sound(page, width=DESKTOP)


def gate(page) -> dict:
    """The gate's answer for claims-fraud-scorer v4, asked with the browser's session."""
    response = page.request.get(GATE)
    assert response.status == 200, response.text()
    return response.json()


def open_from_home(page, demo, username: str, full_name: str) -> str:
    """Sign in, find the waiting sign-off on the home page, open it; returns its number."""
    from playwright.sync_api import expect

    user, password = demo[username]
    sign_in(page, user, password)
    expect(page.locator(".whoami")).to_contain_text(full_name)
    queue = page.locator("#queue-h")
    expect(queue).to_contain_text("Sign-offs waiting for your review")
    check_both_widths(page)
    link = page.get_by_role("link", name=re.compile(r"^Sign-off #\d+$")).first
    number = link.inner_text().removeprefix("Sign-off #")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign-off #{number}: {MODEL} v4")
    return number


def approve(page, comment: str) -> None:
    page.get_by_role("radio", name="Approve", exact=True).check()
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Record decision").click()


def test_the_risk_officer_and_the_dpo_approve_from_their_queues_and_the_gate_answer_changes(page, demo):
    from playwright.sync_api import expect

    # Ravi's home page lists the waiting request; he opens it.
    number = open_from_home(page, demo, "risk", "Ravi Lindqvist")
    before = gate(page)
    assert (before["allowed"], [r["code"] for r in before["reasons"]]) == (False, ["signoff_pending"])

    # The evidence: warnings on the decision form, v4's metrics against v3 in production, the author
    # unknown (so one more approver), the computation beside every risk score, the fingerprint hash.
    warnings = page.locator("#signoff-warnings li")
    expect(warnings.first).to_be_visible()
    assert warnings.count() >= 1
    expect(page.locator("#signoff-warnings")).to_contain_text("Before you decide")
    expect(page.locator("#incumbent")).to_contain_text(f"{MODEL} v3")
    expect(page.locator("#incumbent")).to_contain_text("production")
    auc = page.locator("#metrics tbody tr", has_text="auc")
    expect(auc).to_contain_text("0.918")
    expect(auc).to_contain_text("0.902")
    expect(auc).to_contain_text("+0.016")
    expect(page.locator("#version-author")).to_contain_text("unknown")
    expect(page.locator("#author-unknown")).to_contain_text("one more distinct approver")
    expect(page.locator("#risks tbody tr").first).to_contain_text(" × ")
    expect(page.locator("#fingerprint-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    check_both_widths(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    approve(page, "Recall up 3 points at the same precision; bias test attached.")
    expect(page.locator(".messages")).to_contain_text(
        f"Your approval as Risk Officer is recorded; sign-off #{number} still waits for: 1 more distinct approver"
    )
    check_both_widths(page)
    still = gate(page)
    assert (still["allowed"], [r["code"] for r in still["reasons"]]) == (False, ["signoff_pending"])

    # The policies page, from the request's policy card.
    page.get_by_role("link", name="All sign-off policies and their history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-off policies")
    check_both_widths(page)
    page.get_by_role("button", name="Sign out").click()

    # Dana (DPO) finds it in her queue and gives the second approval.
    assert open_from_home(page, demo, "dpo", "Dana Petrov") == number
    approve(page, "No personal data reaches the model beyond the claim itself.")
    expect(page.locator(".messages")).to_contain_text(
        f"Sign-off #{number} approved: the deployment gate now allows {MODEL} v4 to production."
    )
    expect(page.locator(".page-head .badge")).to_have_text("Approved")
    check_both_widths(page)

    after = gate(page)
    assert (after["allowed"], after["reasons"], after["signoff"]) == (True, [], int(number))
    assert sorted(a["reviewer"] for a in after["approvals"]) == ["dpo", "risk"]
    assert page.problems == []
