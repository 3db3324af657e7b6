"""The reviewers' journey on the demo data, in a real browser (the system Chromium, via Playwright).

The DPO (compliance officer) signs in and finds, on their home page, the high-risk sign-off waiting for
the DPO role (the credit scorecard's challenger, which the risk officer approved) and the findings; the
risk officer finds their own queue (the fraud scorer's challenger), opens a finding from the findings list
and follows it to its subject. Every page visited is checked at 1440 px and 390 px: no console error,
page error, CSP violation or HTTP error, and no sideways scrolling.

The demo's sign-offs need the demo registry's versions; `make run` syncs them from its MLflow server, and
here they are made as that sync leaves them (no server needed), then seed_demo_governance runs again.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from tests.e2e.browser import assert_page_sound, demo_users, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390
# The demo registry's models the demo sign-offs are about (seed_demo_mlflow.MODELS): name, project, versions.
DEMO_MODELS = [("credit-scorecard", "Credit scoring", 4), ("claims-fraud-scorer", "Claims fraud scoring", 4)]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """`make run`'s demo data without its MLflow server: the registry's versions as its sync leaves them."""
    from projects.models import AIProject, LinkSource
    from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

    seed_demo(settings, tmp_path)
    registry = RegistryFactory(name="Local MLflow (demo)", base_url="http://127.0.0.1:9")
    for name, project, n in DEMO_MODELS:
        model = RegisteredModelFactory(
            registry=registry, name=name, project=AIProject.objects.get(name=project), link_source=LinkSource.TAG
        )
        for v in range(1, n + 1):
            # The demo MLflow trains each version in a run by its team's data scientist (not a Keel user):
            # an author is known, so no sign-off needs the extra approver an unknown author costs.
            ModelVersionFactory(registered_model=model, version=str(v), created_by="ds-demo")
    out = io.StringIO()
    call_command("seed_demo_governance", stdout=out)
    assert "Demo sign-offs: 2 pending, 1 approved" in out.getvalue(), out.getvalue()
    return demo_users(tmp_path)


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def check_both_widths(page) -> None:
    """The page as it is, at a desktop and a phone width (reloaded at each, so the layout is the real one)."""
    for width in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert_page_sound(page, width=width)


def sign_in_as(page, demo, username: str) -> None:
    from playwright.sync_api import expect

    user, password = demo[username]
    sign_in(page, user, password)
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))


def test_the_dpo_sees_the_high_risk_sign_off_waiting_for_their_role_and_the_findings(page, demo):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in_as(page, demo, "dpo")
    waiting = page.locator("#waiting-for-you")
    expect(waiting.get_by_role("heading", name="Waiting for you", exact=True)).to_be_visible()
    expect(page.locator("#count-signoffs")).to_have_text("1")
    queue = waiting.get_by_role("table").filter(has_text="credit-scorecard v4")
    expect(queue).to_contain_text("Compliance officer / DPO")
    expect(queue).to_contain_text("Credit scoring")
    expect(waiting.get_by_role("heading", name=re.compile(r"Open findings \(\d+\)"))).to_be_visible()
    check_both_widths(page)

    # The DPO follows the queue to the sign-off.
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    waiting.get_by_role("link", name=re.compile(r"Sign-off #\d+")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("credit-scorecard")
    assert page.problems == [], "\n".join(page.problems)

    # And reads the findings, a compact table.
    page.goto("/governance/findings/?open=true")
    expect(page.get_by_role("heading", level=1)).to_have_text("Findings")
    expect(page.locator("table.findings tbody tr").first).to_be_visible()
    check_both_widths(page)


def test_the_risk_officer_sees_their_queue_and_follows_a_finding_to_its_subject(page, demo):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in_as(page, demo, "risk")
    waiting = page.locator("#waiting-for-you")
    expect(page.locator("#count-signoffs")).to_have_text("1")
    expect(waiting.get_by_role("table").filter(has_text="claims-fraud-scorer v4")).to_contain_text("Risk officer")
    expect(waiting).not_to_contain_text("credit-scorecard v4")  # the risk officer approved it already
    expect(page.locator("#count-reviews")).not_to_have_text("0")  # the demo's overdue reviews
    check_both_widths(page)

    page.goto("/governance/findings/?open=true&kind=risk_review_overdue")
    rows = page.locator("table.findings tbody tr")
    expect(rows.first).to_be_visible()
    check_both_widths(page)

    page.set_viewport_size({"width": DESKTOP, "height": 900})
    rows.first.get_by_role("rowheader").get_by_role("link").click()
    expect(page.locator("#triage")).to_be_visible()  # the risk officer triages on the finding's page
    check_both_widths(page)

    subject = page.locator("#finding-subject")
    expect(subject).to_have_text(re.compile(r"Risk #\d+"))
    subject.click()
    expect(page).to_have_url(re.compile(r"/governance/risks/\d+/$"))
    expect(page.locator("dd").filter(has_text="overdue").first).to_be_visible()
    check_both_widths(page)
