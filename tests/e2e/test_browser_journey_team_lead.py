"""The team lead's journey on the demo data, in a real browser (the system Chromium, via Playwright).

Lena Moreau signs in, opens the one demo project of hers left "not assessed" on purpose, submits the
questionnaire untouched (refused, question by question: the project stays not assessed), answers it
(follow-up questions appear as her answers make them relevant), and gets a tier. Then she logs an
ROI amount (the confirmation says the amount and month), deletes the entry (after a confirmation
page) and undoes the deletion. Every page visited is checked at 1440 px and 390 px: no console
error, page error, CSP violation or HTTP error, and no sideways scrolling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from governance.management.demo_tier_answers import UNASSESSED
from projects.roi.forms import this_month
from tests.e2e.browser import assert_page_sound, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390
SCREENSHOTS = Path(settings.BASE_DIR) / "var"
NOT_ASSESSED_SLUG = "agent-next-best-action"
ROI_SLUG = "claims-fraud-scoring"
TOP_LEVEL = 20  # questions asked before any answer: no follow-up yet


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo data `make run` seeds (without its MLflow server): users, portfolio, ROI, governance."""
    seed_demo(settings, tmp_path)
    passwords = json.loads((tmp_path / "demo-credentials.json").read_text())
    lead = get_user_model().objects.get(username="lead")
    return lead, passwords["lead"]


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def sound_at_both_widths(page) -> None:
    """No problem so far and no sideways scroll, at the desktop and the phone width (back to desktop)."""
    assert_page_sound(page, width=DESKTOP)
    assert_page_sound(page, width=PHONE)
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def settled(page) -> None:
    """Wait until htmx has swapped in the questions that follow from the last answer."""
    from playwright.sync_api import expect

    expect(page.locator("form#questions.htmx-request")).to_have_count(0)
    page.wait_for_load_state("networkidle")


def choose(page, question: str, answer: str) -> None:
    """Answer one question: a radio by its label, or a select by its value."""
    box = page.locator(f"#q-{question}")
    if box.locator("select").count():
        box.locator("select").select_option(answer)
    else:
        box.get_by_label(answer, exact=True).check()
    settled(page)


def test_team_lead_answers_the_questionnaire_then_logs_deletes_and_undoes_an_roi_entry(page, demo):
    from playwright.sync_api import expect

    lead, password = demo
    sign_in(page, lead, password)
    expect(page.locator(".whoami")).to_contain_text("Lena Moreau")

    # The project left unassessed: "Not assessed" on its page.
    page.goto(f"/projects/{NOT_ASSESSED_SLUG}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(UNASSESSED)
    expect(page.locator(".badge.tier-none").first).to_have_text("Not assessed")
    sound_at_both_widths(page)
    page.goto(f"/governance/projects/{NOT_ASSESSED_SLUG}/tier/")
    expect(page.locator("form#questions input[type=radio]:checked")).to_have_count(0)  # nothing pre-answered
    sound_at_both_widths(page)

    # An untouched submit is refused, question by question, and the project stays not assessed.
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".form-errors")).to_contain_text(f"{TOP_LEVEL} question(s) not answered yet")
    expect(page.locator("p.error")).to_have_count(TOP_LEVEL)
    expect(page.locator(".tier-summary .badge")).to_have_text("Not assessed")
    assert page.problems == [], "\n".join(page.problems)

    # Answer; follow-ups appear as the answers make them relevant (D3 after D1, D4 after D3, D6/D7 after D4).
    for question, answer in [("A1", "Yes"), ("A3", "Yes"), ("A4", "None")]:
        choose(page, question, answer)
    for n in range(1, 10):
        choose(page, f"B{n}", "No")
    choose(page, "C1", "none")
    expect(page.locator("#q-C2")).to_have_count(0)
    expect(page.locator("#q-D3")).to_have_count(0)
    choose(page, "D1", "4b")
    expect(page.locator("#q-D3")).to_be_visible()
    choose(page, "D3", "No")
    expect(page.locator("#q-D4")).to_be_visible()
    choose(page, "D4", "None")
    for question in ("D6", "D7", "E1", "E2", "E3", "E5", "F1"):
        choose(page, question, "No")
    choose(page, "E4", "No")
    page.get_by_role("button", name="Submit answers").click()

    expect(page.locator(".messages")).to_contain_text("Assessed as high risk (version 1).")
    summary = page.locator(".tier-summary")
    expect(summary).to_contain_text("High risk via Annex III 4(b)")
    page.screenshot(path=str(SCREENSHOTS / "e2e-journey-team-lead-tier.png"), full_page=True)
    sound_at_both_widths(page)

    # ROI: log an amount; the confirmation says the amount and the month.
    month = this_month()
    page.goto(f"/projects/{ROI_SLUG}/roi/")
    expect(page.locator("#chart-roi-monthly[data-mounted=true]")).to_have_count(1)
    sound_at_both_widths(page)
    form = page.locator("#log form")
    form.get_by_label("Month").fill(f"{month:%Y-%m}")
    form.get_by_label("Category").select_option("licences")
    form.get_by_label("Basis").select_option("actual")
    form.get_by_label("Amount").fill("142500")
    form.get_by_role("button", name="Save entry").click()
    logged = f"Logged EUR 142,500 for {month:%b %Y} (actual, Licences)."
    expect(page.locator(".messages")).to_contain_text(logged)
    # The current month comes first in the ledger.
    expect(page.locator("#ledger tbody tr").first.locator("th")).to_contain_text(f"{month:%Y-%m} (this month)")
    sound_at_both_widths(page)

    # Delete it: a confirmation page first, then the ledger offers Undo.
    page.get_by_role("link", name=f"Delete the actual licences entry of {month:%Y-%m}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this ROI entry?")
    expect(page.locator("dl.facts")).to_contain_text("EUR 142,500")
    sound_at_both_widths(page)
    page.get_by_role("button", name="Delete the entry").click()
    deleted = f"Deleted the actual Licences entry of EUR 142,500 for {month:%b %Y}."
    expect(page.locator(".messages")).to_contain_text(deleted)
    expect(page.get_by_role("link", name=f"Delete the actual licences entry of {month:%Y-%m}")).to_have_count(0)
    sound_at_both_widths(page)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Restored the actual Licences entry of EUR 142,500 for {month:%b %Y}."
    )
    expect(page.get_by_role("link", name=f"Delete the actual licences entry of {month:%Y-%m}")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "e2e-journey-team-lead-roi.png"), full_page=True)
    sound_at_both_widths(page)
