"""The DPO's workspace in a real browser (the system Chromium, via Playwright), on `make run`'s demo data:
the DPO (demo user "dpo") opens the PII workspace from the navigation, finds the CRM's customers table in
the catalogue, ticks two columns whose names suggest personal data (phone, IBAN), confirms the
suggestions in one go, and follows the pipeline to Credit scoring's compliance tab, where the phone
number now reaches the credit scorecard (raw → cleaned → features → training set → model).

The demo's registry versions come from its MLflow server, which the browser tests do not run: the
fixture adds them as its sync would, before the governance seed posts the pipeline's lineage. Each page
is checked at 1440 and 390 px: no sideways scroll, no console error, CSP violation or HTTP error.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.e2e.browser import assert_page_sound, demo_users, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390
SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-dpo-workspace.png"


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """`make run`'s demo data without its MLflow server: the credit scorecard's versions as its sync leaves them."""
    from projects.models import AIProject, LinkSource
    from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

    seed_demo(settings, tmp_path, commands=("seed_demo", "seed_demo_roi"))
    registry = RegistryFactory(name="Local MLflow (demo)", base_url="http://127.0.0.1:9")
    model = RegisteredModelFactory(registry=registry, name="credit-scorecard", link_source=LinkSource.TAG,
                                   project=AIProject.objects.get(name="Credit scoring"))  # fmt: skip
    for v in range(1, 5):
        ModelVersionFactory(registered_model=model, version=str(v), created_by="ds-demo")
    call_command("seed_demo_governance", stdout=io.StringIO())
    return demo_users(tmp_path), AIProject.objects.get(name="Credit scoring").slug


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def check_both_widths(page) -> None:
    for width in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert_page_sound(page, width=width)
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def test_the_dpo_confirms_suggestions_in_bulk_and_sees_them_reach_credit_scoring(page, demo):
    from playwright.sync_api import expect

    users, credit_slug = demo
    user, password = users["dpo"]
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in(page, user, password)
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))

    # The workspace, from the navigation: what waits first.
    page.locator("header nav").get_by_role("link", name="PII", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("PII workspace")
    waiting = page.locator(".pii-waiting")
    expect(waiting).to_contain_text("Suggested columns to confirm")
    assert int(waiting.locator(".tile-value").first.inner_text()) > 0
    check_both_widths(page)

    # The catalogue: the CRM's customers, among the datasets with suggestions.
    catalogue = page.get_by_role("search", name="Filter the catalogue")
    catalogue.get_by_label("Dataset, namespace or column").fill("customers")
    catalogue.get_by_label("PII state").select_option("suggested")
    catalogue.get_by_role("button", name="Apply").click()
    card = page.locator("article.dataset-card").filter(
        has=page.get_by_role("heading", name="crm.public.customers", exact=True)
    )
    expect(card).to_be_visible()
    phone_row = card.locator("tr").filter(has=page.get_by_role("rowheader", name="phone", exact=True))
    expect(phone_row).to_contain_text("suggested")
    expect(phone_row).to_contain_text("Phone number")
    dob_row = card.locator("tr").filter(has=page.get_by_role("rowheader", name="date_of_birth", exact=True))
    expect(dob_row).to_contain_text("asserted by dpo")  # the demo's one manual assertion
    email_row = card.locator("tr").filter(has=page.get_by_role("rowheader", name="email", exact=True))
    expect(email_row).to_contain_text("producer's tag")
    check_both_widths(page)

    # "Tick every suggested column" only ticks boxes (nothing is classified until confirmed); untick again.
    tick = page.get_by_role("button", name="Tick every suggested column on this page")
    tick.click()
    expect(card.get_by_label("Select crm.public.customers.last_name")).to_be_checked()
    expect(card.get_by_label("Select crm.public.customers.customer_id")).not_to_be_checked()
    page.get_by_role("button", name="Untick the suggested columns").click()
    expect(card.get_by_label("Select crm.public.customers.last_name")).not_to_be_checked()

    # Tick two suggested columns and confirm them together.
    card.get_by_label("Select crm.public.customers.phone").check()
    card.get_by_label("Select crm.public.customers.iban").check()
    page.get_by_role("button", name="Confirm selected suggestions").click()
    expect(page.locator(".messages")).to_contain_text("Confirmed 2 suggested classifications in 1 dataset")
    page.get_by_role("search", name="Filter the catalogue").get_by_label("PII state").select_option("")
    page.get_by_role("search", name="Filter the catalogue").get_by_role("button", name="Apply").click()
    card = page.locator("article.dataset-card").filter(
        has=page.get_by_role("heading", name="crm.public.customers", exact=True)
    )
    phone_row = card.locator("tr").filter(has=page.get_by_role("rowheader", name="phone", exact=True))
    expect(phone_row).to_contain_text("asserted by dpo")
    expect(phone_row).not_to_contain_text("suggested")
    check_both_widths(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The phone number travels down the pipeline to the credit scorecard: Credit scoring's compliance tab.
    page.goto(f"/governance/projects/{credit_slug}/compliance/")
    paths = page.locator("#pii-paths")
    expect(paths).to_contain_text("Phone number")
    expect(paths.locator("tr").filter(has_text="Phone number")).to_contain_text("crm.public.customers.phone")
    expect(page.get_by_role("heading", name="Obligations")).to_be_visible()
    check_both_widths(page)


def test_readers_see_the_catalogue_without_the_bulk_controls(page, demo):
    from playwright.sync_api import expect

    users, _ = demo
    user, password = users["exec"]
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in(page, user, password)
    page.goto("/governance/pii/?q=customers")
    expect(page.get_by_role("heading", name="crm.public.customers", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Confirm selected suggestions")).to_have_count(0)
    check_both_widths(page)
