"""A team lead registers a project in a real browser: the system Chromium, driven through Playwright.

Uses the browser fixtures of tests/e2e/conftest.py with their default data (`lead_with_team`), and
fails on any console error, uncaught page error, CSP violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-projects.png"


def test_team_lead_registers_a_project_and_finds_it_in_the_list(page, lead_with_team):
    from playwright.sync_api import expect

    lead, team = lead_with_team
    name = "Claims triage assistant"

    # Sign in through the real login form.
    page.goto("/login/")
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_label("Username").fill(lead.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".whoami")).to_contain_text("Lena Lindqvist")
    # htmx came from our own static files and CSP let it run.
    assert page.evaluate("typeof window.htmx") == "object"

    # Register a project.
    page.goto("/projects/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Register an AI project")
    page.locator("#id_name").fill(name)
    page.locator("#id_purpose").fill("Routes incoming claims to the right handler and flags likely fraud.")
    page.locator("#id_team").select_option(label=team.name)
    page.locator("#id_owner").select_option(value=str(lead.pk))
    page.locator("#id_stage").select_option(value="design")
    page.locator("#id_currency").fill("EUR")
    page.locator("#id_expected_investment").fill("120000")
    page.locator("#id_expected_annual_value").fill("450000.50")
    page.locator("#id_horizon_months").fill("24")
    page.get_by_role("button", name="Register project").click()

    # The detail page of the new project.
    expect(page).to_have_url(re.compile(r"/projects/[-a-z0-9]+/$"))
    assert not page.url.endswith("/projects/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator(".messages")).to_contain_text(f"Project “{name}” registered.")
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("Design")
    expect(facts).to_contain_text(team.name)
    expect(facts).to_contain_text("Lena Lindqvist")
    expect(page.locator("dl.facts").nth(1)).to_contain_text("EUR 450,000.50")
    detail_path = page.url.removeprefix(page.url.split("/projects/")[0])

    # The list shows it, linking to that detail page.
    page.goto("/projects/")
    rows = page.locator("table.table tbody tr").filter(has_text=name)
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.get_by_role("link", name=name)).to_have_attribute("href", detail_path)
    cells = [text.strip() for text in row.locator("th, td").all_inner_texts()]
    assert cells == [name, team.name, "Design", "On track", "Not assessed", "Lena Lindqvist", "EUR 450,001"]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert page.problems == []
