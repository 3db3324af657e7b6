"""A risk officer's notifications in a real browser (the system Chromium, via Playwright): the navigation
shows the unread count, the notification of a high finding leads to the finding, and from there the risk
officer opens an incident with the finding's project and severity filled in. At 390 px nothing overflows.
"""

from __future__ import annotations

import pytest

from core.roles import Role
from governance.models import Finding
from governance.notifications import rules
from governance.risks.services import risk_reviews_mark_overdue
from tests.e2e.browser import assert_page_sound, sign_in
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.risk_factories import overdue_risk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lead_with_team(lena):
    """Overrides the conftest fixture the browser starts after: a high finding on Lena's project, and the
    notification the worker made of it for the risk officer."""
    officer = make_user("ravi", Role.RISK_OFFICER, first_name="Ravi", last_name="Okafor")
    team = TeamFactory(name="Claims Automation", lead=lena)
    project = AIProjectFactory(name="Claims fraud scoring", team=team, owner=lena)
    overdue_risk(project=project, title="Unfair denials", likelihood=5, impact=5)
    risk_reviews_mark_overdue()
    finding = Finding.objects.get(project=project)
    rules.finding_opened(finding.pk)
    return officer, project, finding, officer.notifications.get().pk


def test_a_risk_officer_follows_a_notification_and_opens_an_incident(page, lead_with_team):
    from playwright.sync_api import expect

    officer, project, finding, notification_id = lead_with_team
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, officer)
    expect(page.locator("#nav-notifications")).to_contain_text("1 unread")
    page.click("#nav-notifications")
    assert_page_sound(page, width=390, height=844)
    page.click(f"#notification-{notification_id} a")
    expect(page.locator("h1")).to_have_text(finding.title)
    page.click("#open-incident")
    expect(page.locator("#id_title")).to_have_value(finding.title)
    page.fill("#id_description", "Denials for one postcode doubled after the last release.")
    page.select_option("#id_seriousness", "fundamental_rights")
    page.click("button:has-text('Open incident')")
    expect(page.locator("#report-deadline")).to_contain_text("Report to the authority due in")
    assert_page_sound(page, width=390, height=844)
    facts = page.locator("#facts-h + p + dl")
    expect(facts).to_contain_text(project.name)
    expect(facts).to_contain_text(finding.title)  # "From finding"
    expect(page.locator("#nav-notifications")).not_to_contain_text("unread")
    assert page.problems == []
