"""A risk officer's notifications in a real browser (the system Chromium, via Playwright): a drift signal about
a model version breaches its plan's bound, the risk officer sees the unread notification in the navigation,
follows it to the version's signal chart, and opens an incident from the breach there, with the finding's
project and severity filled in. At 390 px nothing overflows and the browser reports no problem.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.roles import Role
from governance.models import Finding, FindingKind
from governance.monitoring.services import SignalIn, monitoring_plan_item_save, signals_record
from governance.notifications import rules
from projects.models import LinkSource
from tests.e2e.browser import assert_page_sound, sign_in
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NARROW = {"width": 390, "height": 844}


@pytest.fixture
def lead_with_team(lena):
    """Overrides the conftest fixture the browser starts after: Lena's fraud model, version 3, whose drift
    (PSI 0.41) breaches the plan's upper bound of 0.2; the breach's finding, and the notifications the
    worker made of it."""
    officer = make_user("ravi", Role.RISK_OFFICER, first_name="Ravi", last_name="Okafor")
    team = TeamFactory(name="Claims Automation", lead=lena)
    project = AIProjectFactory(name="Claims fraud scoring", team=team, owner=lena)
    model = RegisteredModelFactory(registry=RegistryFactory(name="mlflow-prod"), name="fraud-detector",
                                   project=project, link_source=LinkSource.TAG)  # fmt: skip
    version = ModelVersionFactory(registered_model=model, version="3")
    monitoring_plan_item_save(project=project, by=lena, data={"name": "psi", "kind": "drift", "upper": 0.2})
    at = timezone.now() - dt.timedelta(hours=1)
    signals_record(version=version, signals=[SignalIn("psi", 0.41, at, kind="drift")], source="webhook", by=lena)
    finding = Finding.objects.get(kind=FindingKind.SIGNAL_BREACHED)
    rules.finding_opened(finding.pk)
    return officer, project, finding, officer.notifications.get().pk


def test_a_risk_officer_follows_a_breach_notification_to_the_chart_and_opens_an_incident(page, lead_with_team):
    from playwright.sync_api import expect

    officer, project, finding, notification_id = lead_with_team
    page.set_viewport_size(NARROW)
    sign_in(page, officer)
    expect(page.locator("#nav-notifications")).to_contain_text("1 unread")
    page.click("#nav-notifications")
    expect(page.locator(f"#notification-{notification_id}")).to_contain_text("psi")
    assert_page_sound(page, **NARROW)
    page.click(f"#notification-{notification_id} a")
    # The version's signal chart, its bound drawn, with the open breach beside it.
    expect(page.locator("#signals-h")).to_be_visible()
    expect(page.locator(".signal-panel .chart .main-svg").first).to_be_visible()
    assert_page_sound(page, **NARROW)
    page.click(f"#open-incident-{finding.pk}")
    expect(page.locator("#id_title")).to_have_value(finding.title)
    page.fill("#id_description", "PSI on the age band doubled after the last release; denials rose.")
    page.select_option("#id_seriousness", "fundamental_rights")
    page.click("button:has-text('Open incident')")
    expect(page.locator("#report-deadline")).to_contain_text("Report to the authority due in")
    facts = page.locator("#facts-h + p + dl")
    expect(facts).to_contain_text(project.name)
    expect(facts).to_contain_text(finding.title)  # "From finding"
    assert_page_sound(page, **NARROW)
    expect(page.locator("#nav-notifications")).not_to_contain_text("unread")
