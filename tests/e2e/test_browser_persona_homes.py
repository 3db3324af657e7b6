"""Each persona's home page on the demo data, in a real browser (the system Chromium, via Playwright).

The executive, the risk officer, the DPO (compliance officer), the team lead and the admin sign in
with the demo's own accounts and land on "/": the page shows its heading, nothing goes wrong in the
browser (no console error, page error, CSP violation or HTTP error), and it fits a 1440 px desktop
and a 390 px phone without scrolling sideways.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import assert_page_sound, demo_users, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390
# The demo's personas (projects/management/commands/seed_demo.py) and the heading of their home page.
PERSONAS = {
    "executive": ("exec", "Erin Okafor", "Portfolio dashboard"),
    "risk officer": ("risk", "Ravi Lindqvist", "Portfolio overview"),
    "DPO": ("dpo", "Dana Petrov", "Portfolio overview"),
    "team lead": ("lead", "Lena Moreau", "Portfolio overview"),
    "admin": ("admin", "Ada Brandt", "Portfolio overview"),
}


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo data `make run` seeds (without its MLflow server): users, portfolio, ROI, governance."""
    seed_demo(settings, tmp_path)
    return demo_users(tmp_path)


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def open_home(page, demo, persona: str) -> str:
    """Sign in as the persona and wait for their home page; returns its expected heading."""
    from playwright.sync_api import expect

    username, full_name, heading = PERSONAS[persona]
    user, password = demo[username]
    sign_in(page, user, password)
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))
    expect(page.locator(".whoami")).to_contain_text(full_name)
    return heading


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_home_page_loads_with_its_heading_at_desktop_and_phone_widths(page, demo, persona):
    from playwright.sync_api import expect

    heading = open_home(page, demo, persona)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_page_sound(page, width=DESKTOP)

    page.set_viewport_size({"width": PHONE, "height": 900})
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert page.problems == [], "\n".join(page.problems)


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_home_page_fits_a_phone_without_scrolling_sideways(page, demo, persona):
    page.set_viewport_size({"width": PHONE, "height": 900})
    open_home(page, demo, persona)
    assert_page_sound(page, width=PHONE)
