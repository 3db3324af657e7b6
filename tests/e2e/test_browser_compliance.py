"""A risk officer opens a project's compliance tab in a real browser (the system Chromium, via
Playwright) and sees the path by which the customers' email reaches the project's model version:
drawn by plotly.js from our own static files under the CSP, and listed in the table beside it.

The nodes are read from the plotly graph div's own data (what plotly drew). Fails on any console
error, page error, CSP violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from core.roles import Role
from governance.compliance import services
from tests.e2e.browser import sign_in
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.pii_factories import dataset, fld, flow, model_dataset
from tests.signoff_factories import assess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-compliance.png"

NODE_LABELS = """() => {
  const gd = document.getElementById("pii-graph");
  return gd.data.filter((t) => t.mode === "markers+text").flatMap((t) => t.text);
}"""


@pytest.fixture
def lead_with_team(lena):
    """Overrides the conftest fixture the browser starts after: a high-risk project whose churn
    model v3 is trained on staging data that copies the raw customers' email."""
    lead = lena
    officer = make_user("rita", Role.RISK_OFFICER, first_name="Rita", last_name="Rossi")
    team = TeamFactory(name="Customer Analytics", lead=lead)
    project = AIProjectFactory(name="Churn prediction", team=team, owner=lead)
    assess(project, "high")
    raw = dataset("dbt_test.main.raw_customers", "email", "segment")
    stg = dataset("dbt_test.main.stg_customers", "email", "segment")
    flow(raw, stg, [("email", "email"), ("segment", "segment")], job="dbt.stg_customers")
    model_dataset(project, "churn", version="3", inputs=[stg])
    services.classification_assert(by=officer, dataset=raw, field=fld(raw, "email"), pii_kind="email")
    return officer, team, project


def test_risk_officer_opens_the_compliance_tab_and_sees_the_pii_path(page, lead_with_team):
    from playwright.sync_api import expect

    officer, _team, project = lead_with_team
    sign_in(page, officer)
    expect(page).to_have_url(re.compile(r"/$"))

    page.goto(f"/projects/{project.slug}/")
    page.locator("nav.tabs").get_by_role("link", name="Compliance").click()
    expect(page).to_have_url(re.compile(rf"/governance/projects/{project.slug}/compliance/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance of Churn prediction")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Compliance")

    # plotly drew the graph: the email's path from raw to staging to the model dataset and version.
    expect(page.locator("#pii-graph[data-mounted=true]")).to_have_count(1)
    assert page.evaluate("typeof window.Plotly") == "object"
    assert sorted(page.evaluate(NODE_LABELS)) == [
        "churn v3",
        "dbt_test.main.raw_customers.email",
        "dbt_test.main.stg_customers.email",
        "models:/churn/3",
    ]
    expect(page.locator("#pii-graph .scatterlayer .trace")).to_have_count(4)  # edges, hops, personal, model
    expect(page.locator("#pii-paths tbody tr")).to_have_count(1)
    expect(page.locator("#pii-paths tbody tr")).to_contain_text(
        "dbt_test.main.raw_customers.email → dbt_test.main.stg_customers.email (dbt.stg_customers) → "
        "models:/churn/3 (train churn)"
    )
    # The obligations that follow, none met yet.
    expect(page.locator("#coverage-percent")).to_have_text("0%")
    expect(page.locator("#obligation-GDPR-35-DPIA")).to_contain_text("Data protection impact assessment")
    expect(page.locator("#obligation-GDPR-6-BASIS")).to_contain_text("Missing on:")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The path's first hop leads to the raw dataset's page, which shows the assertion.
    page.get_by_role("link", name="PII").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("PII workspace")
    page.get_by_role("link", name="dbt_test.main.raw_customers").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("dbt_test.main.raw_customers")
    expect(page.locator("main")).to_contain_text("Asserted by a person")

    assert page.problems == []
