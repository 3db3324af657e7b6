"""The EU AI Act questionnaire in a real browser (the system Chromium, via Playwright): a team lead
finds each question by its accessible name (section fieldsets with legends, a fieldset per yes/no
question, labels on every control), submits, sees the tier with its explanation, and finds the
tier badge on the project page and in the project list.

Fails on any console error, page error, CSP violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.browser import sign_in
from tests.e2e.test_browser_journey_team_lead import choose, settled
from tests.factories import AIProjectFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-tier-questionnaire.png"


@pytest.fixture
def lead_with_team(lena):
    """Overrides the conftest fixture the browser starts after: Lena leads the team of a CV screener."""
    lead = lena
    team = TeamFactory(name="People Analytics", lead=lead)
    project = AIProjectFactory(name="CV screener", team=team, owner=lead)
    return lead, team, project


def test_team_lead_answers_the_questionnaire_by_label_and_sees_the_tier_everywhere(page, lead_with_team):
    from playwright.sync_api import expect

    lead, _team, project = lead_with_team
    sign_in(page, lead)
    expect(page).to_have_url(re.compile(r"/$"))

    page.goto(f"/projects/{project.slug}/")
    facts = page.locator("#facts-h + dl.facts")
    expect(facts).to_contain_text("EU AI Act tierNot assessed")
    page.get_by_role("link", name="why, and the questionnaire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("EU AI Act risk tier of CV screener")

    # Nothing is pre-answered; each section is a group named by its legend; each yes/no question a
    # group named by the question. D3 appears once D1 names an Annex III point (htmx, server-side rules).
    expect(page.locator("form#questions input[type=radio]:checked")).to_have_count(0)
    use_cases = page.get_by_role("group", name="High-risk use cases (Annex III)")
    expect(use_cases).to_be_visible()
    expect(page.get_by_role("group", name=re.compile(r"^D3 "))).to_have_count(0)
    use_cases.get_by_label(re.compile(r"^D1 Does the intended purpose match an Annex III use case\?")).select_option(
        "4a"
    )
    settled(page)
    profiling = page.get_by_role("group", name=re.compile(r"^D3 Does it profile natural persons"))
    profiling.get_by_label("Yes").check()
    settled(page)
    page.get_by_role("group", name=re.compile(r"^E1 Does it interact directly with people")).get_by_label("Yes").check()
    settled(page)
    # Every other question asked: its "no" / "none" answer, chosen deliberately (nothing is defaulted).
    for question, answer in [("A1", "Yes"), ("A3", "Yes"), ("A4", "None"), ("C1", "none"), ("D6", "No"), ("D7", "No"),
                             ("F1", "No"), *((f"B{n}", "No") for n in range(1, 10)),
                             *((f"E{n}", "No") for n in range(2, 6))]:  # fmt: skip
        choose(page, question, answer)
    page.get_by_role("button", name="Submit answers").click()

    expect(page.locator(".messages")).to_contain_text("Assessed as high risk (version 1).")
    summary = page.locator(".tier-summary")
    expect(summary).to_contain_text("High risk via Annex III 4(a)")
    expect(summary.locator("ol.explanation li").first).to_have_text(
        "High risk: Annex III 4(a) Recruitment and selection of candidates, and it profiles natural persons, so the "
        "Art. 6(3) derogation is unavailable; applies from 2 Dec 2027."
    )
    expect(summary).to_contain_text("Tell people they are interacting with an AI system (Art. 50(1))")
    # The form starts again from these answers, and the history names who and when.
    expect(page.get_by_label(re.compile(r"^D1 "))).to_have_value("4a")
    expect(page.locator("table").filter(has_text="Version")).to_contain_text("Lena Lindqvist")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.goto(f"/projects/{project.slug}/")
    expect(facts.locator(".badge.tier-high")).to_have_text("High risk")
    page.goto("/projects/")
    expect(page.get_by_role("row", name=re.compile("CV screener")).locator(".badge.tier-high")).to_have_text(
        "High risk"
    )
    assert page.problems == []
