"""Sign-off in a real browser (the system Chromium, via Playwright): a team lead asks for sign-off of a
model version on the project's Sign-off tab, a risk officer approves it from the review queue, and
the deployment gate's answer for that version flips from denied to allowed.

The gate is asked from the browser's own session (Playwright's request context shares its cookies),
before and after, as a pipeline would ask with a token. Fails on any console error, page error, CSP
violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from core.roles import Role
from governance.risks.assessments import tier_assessment_submit
from projects.models import LinkSource
from tests.e2e.browser import sign_in as sign_in_form
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold
from tests.tier_answers import complete

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-signoff.png"
QUEUE_SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-signoff-queue.png"
GATE = "/api/v1/gate?registry=mlflow-prod&model=fraud-detector&version=3&environment=production"


@pytest.fixture
def lead_with_team(lena, settings):
    """Overrides the conftest fixture the browser starts after. Lena leads the team whose project
    (assessed minimal: one risk officer approves) has version 3 of fraud-detector in the registry."""
    settings.KEEL_GATE_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    lead = lena
    officer = make_user("ravi", Role.RISK_OFFICER, first_name="Ravi", last_name="Okafor")
    team = TeamFactory(name="Claims Automation", lead=lead)
    project = AIProjectFactory(name="Claims fraud scoring", team=team, owner=lead)
    tier_assessment_submit(by=lead, project=project, answers=complete())
    model = RegisteredModelFactory(
        registry=RegistryFactory(name="mlflow-prod"), name="fraud-detector", project=project,
        link_source=LinkSource.TAG,
    )  # fmt: skip
    ModelVersionFactory(registered_model=model, version="2")
    version = ModelVersionFactory(registered_model=model, version="3", tags={"keel.digest": "sha256:3f2a"})
    hold(version, "challenger", T0)
    return lead, officer, project, version


def sign_in(page, user):
    """Through the login form, then wait for the header to name the user."""
    sign_in_form(page, user)
    from playwright.sync_api import expect

    expect(page.locator(".whoami")).to_contain_text(user.get_full_name())


def gate(page) -> dict:
    """The gate's answer, asked with the browser's session."""
    response = page.request.get(GATE)
    assert response.status == 200, response.text()
    return response.json()


def test_a_lead_requests_a_risk_officer_approves_from_the_queue_and_the_gate_allows(page, lead_with_team):
    from playwright.sync_api import expect

    lead, officer, project, _version = lead_with_team

    # The team lead asks for sign-off on the project's Sign-off tab.
    sign_in(page, lead)
    before = gate(page)
    assert (before["allowed"], [r["code"] for r in before["reasons"]]) == (False, ["no_signoff"])
    page.goto(f"/projects/{project.slug}/")
    page.locator("nav.tabs").get_by_role("link", name="Sign-off", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign-off of {project.name}")
    expect(page.locator(".empty")).to_contain_text("No sign-off has been requested for this project yet.")
    page.get_by_label("Model version").select_option(label="fraud-detector v3 (mlflow-prod) — challenger")
    page.get_by_label("Justification").fill("AUC 0.91 on the November holdout; bias test attached.")
    page.get_by_role("button", name="Request sign-off").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Sign-off #\d+: fraud-detector v3$"))
    signoff_path = page.url.removeprefix(page.url.split("/governance/")[0])
    number = re.search(r"/signoffs/(\d+)/$", signoff_path).group(1)
    expect(page.locator(".messages")).to_contain_text(
        f"Sign-off #{number} requested for fraud-detector v3: it waits for approval by Risk Officer."
    )
    expect(page.locator("#evidence-h")).to_have_text("Evidence")
    expect(page.locator("#lineage")).to_contain_text("No personal data is recorded as reaching this version")
    pending = gate(page)
    assert (pending["allowed"], [r["code"] for r in pending["reasons"]]) == (False, ["signoff_pending"])
    page.get_by_role("button", name="Sign out").click()

    # The risk officer finds it in the queue, reads the evidence and approves.
    sign_in(page, officer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign-offs", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-offs")
    expect(page.get_by_role("link", name=re.compile(r"^Waiting for me"))).to_have_text("Waiting for me (1)")
    rows = page.locator("table.signoffs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(project.name)
    expect(rows.first).to_contain_text("Waiting for: Risk Officer")
    QUEUE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(QUEUE_SCREENSHOT), full_page=True)
    rows.first.get_by_role("link", name=f"#{number} fraud-detector v3").click()
    expect(page).to_have_url(re.compile(re.escape(signoff_path) + "$"))
    expect(page.locator("#fingerprint")).to_contain_text("Still matches the present state.")
    expect(page.locator("#fingerprint")).to_contain_text("sha256:3f2a")
    page.get_by_role("radio", name="Approve", exact=True).check()
    page.get_by_label("Comment").fill("Evidence complete.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Sign-off #{number} approved: the deployment gate now allows fraud-detector v3 to production."
    )
    expect(page.locator(".page-head .badge")).to_have_text("Approved")
    expect(page.locator("#decisions tbody tr")).to_have_count(1)
    expect(page.locator("#decisions tbody tr").first).to_contain_text("Ravi Okafor")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The gate flips to allowed, with the approval and a signed token.
    after = gate(page)
    assert (after["allowed"], after["reasons"], after["signoff"]) == (True, [], int(number))
    assert [(a["reviewer"], a["role"]) for a in after["approvals"]] == [("ravi", "Risk Officer")]
    assert after["fingerprint"]["digest"] == "sha256:3f2a"
    assert after["token"].count(".") == 2

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign-offs", exact=True).click()
    expect(page.locator(".empty")).to_contain_text("Nothing waits for your review.")

    assert page.problems == []
