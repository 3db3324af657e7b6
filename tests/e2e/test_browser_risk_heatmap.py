"""The portfolio risk heat map in a real browser (the system Chromium, via Playwright): plotly.js from
our own static files under the CSP, a team lead adds a risk and sees the count of its cell go up,
clicks the cell and gets its risks listed, and toggles to the inherent scores.

Counts are read from the plotly graph div's own data (what plotly drew), not from the HTML table.
Fails on any console error, page error, CSP violation (an eval plotly might need would be one) or
HTTP error response on the pages visited.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from core.roles import Role
from tests.factories import PASSWORD, AIProjectFactory, TeamFactory, make_user
from tests.risk_factories import RiskFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-risk-heatmap.png"

CELL_COUNT = """([likelihood, impact]) => {
  const gd = document.getElementById("risk-heatmap");
  return gd.data[0].customdata[likelihood - 1][impact - 1];
}"""
# The centre of a cell in page coordinates, from plotly's own axes (impact across, likelihood up).
CELL_CENTRE = """([likelihood, impact]) => {
  const gd = document.getElementById("risk-heatmap");
  gd.scrollIntoView();
  const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return [box.left + xa._offset + xa.l2p(impact), box.top + ya._offset + ya.l2p(likelihood)];
}"""


@pytest.fixture
def lead_with_team(transactional_db):
    """Overrides the conftest fixture the browser starts after. Lena's project has two risks;
    another team's project has one in the same residual cell, which Lena must not count."""
    for role in Role:
        Group.objects.get_or_create(name=role)
    lead = make_user("lena", Role.TEAM_LEAD, first_name="Lena", last_name="Lindqvist")
    team = TeamFactory(name="Claims Automation", lead=lead)
    project = AIProjectFactory(name="Claims fraud scoring", team=team, owner=lead)
    RiskFactory(project=project, title="Postcode bias in denials", category="fairness", likelihood=4, impact=4,
                residual_likelihood=3, residual_impact=3)  # fmt: skip
    RiskFactory(project=project, title="Claim photos kept too long", category="privacy", likelihood=2, impact=4)
    other_lead = make_user("olle", Role.TEAM_LEAD)
    other = AIProjectFactory(name="Churn model", team=TeamFactory(name="Marketing", lead=other_lead), owner=other_lead)
    RiskFactory(project=other, title="Churn scores leak", category="privacy", likelihood=3, impact=3)
    return lead, team, project


def sign_in(page, user):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def wait_for_heatmap(page):
    from playwright.sync_api import expect

    expect(page.locator("#risk-heatmap[data-mounted=true]")).to_have_count(1)
    # plotly drew the 5x5 grid and labelled the occupied cells.
    expect(page.locator("#risk-heatmap .hm")).to_have_count(1)


def test_team_lead_adds_a_risk_and_sees_its_heat_map_cell_count_change(page, lead_with_team):
    from playwright.sync_api import expect

    lead, _team, project = lead_with_team
    sign_in(page, lead)

    page.get_by_role("link", name="Risks").first.click()
    expect(page).to_have_url(re.compile(r"/governance/risks/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Risks across the portfolio")
    wait_for_heatmap(page)
    assert page.evaluate("typeof window.Plotly") == "object"
    assert page.evaluate(CELL_COUNT, [3, 3]) == 1  # Lena's risk only; the other team's is not hers to see
    assert page.evaluate(CELL_COUNT, [2, 4]) == 1
    expect(page.locator(".heatmap-head h2")).to_contain_text("2 risks, residual scores")

    # Add a risk from the project's risk tab.
    page.goto(f"/projects/{project.slug}/")
    page.locator("nav.tabs").get_by_role("link", name="Risks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Risks of {project.name}")
    wait_for_heatmap(page)
    assert page.evaluate(CELL_COUNT, [3, 3]) == 1
    page.get_by_role("link", name="Add a risk").click()
    page.get_by_label("Title").fill("Model drift after the policy change")
    page.get_by_label("Category").select_option(value="robustness")
    page.get_by_label("Inherent likelihood").select_option(value="4")
    page.get_by_label("Inherent impact").select_option(value="5")
    page.get_by_label("Residual likelihood").select_option(value="3")
    page.get_by_label("Residual impact").select_option(value="3")
    page.get_by_role("button", name="Add risk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Model drift after the policy change")
    expect(page.locator(".messages")).to_contain_text(
        "Risk “Model drift after the policy change” added to the register."
    )
    expect(page.locator("dl.facts")).to_contain_text(
        "Possible (3) × Moderate (3) = 9: Medium (5–9), review every 180 days"
    )

    # The portfolio heat map counts it.
    page.get_by_role("link", name="Risks").first.click()
    wait_for_heatmap(page)
    assert page.evaluate(CELL_COUNT, [3, 3]) == 2
    expect(page.locator(".heatmap-head h2")).to_contain_text("3 risks, residual scores")

    # Clicking the cell lists its risks below, keeping the axis.
    x, y = page.evaluate(CELL_CENTRE, [3, 3])
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(r"[?&]residual_likelihood=3(&|#|$)"))
    url = urlsplit(page.url)
    assert parse_qs(url.query) == {"axis": ["residual"], "residual_likelihood": ["3"], "residual_impact": ["3"]}
    assert url.fragment == "risk-list"
    expect(page.locator(".cell-filter")).to_contain_text(
        "Showing the risks whose residual likelihood is 3 and impact 3."
    )
    rows = page.locator("#risk-list table.risks tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Model drift after the policy change")  # equal scores: by title
    expect(rows.nth(1)).to_contain_text("Postcode bias in denials")
    wait_for_heatmap(page)
    assert page.evaluate(CELL_COUNT, [3, 3]) == 2  # the map still counts every cell
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The inherent toggle: the new risk sits at 4 × 5 there.
    page.get_by_role("link", name="Inherent").click()
    wait_for_heatmap(page)
    assert page.evaluate(CELL_COUNT, [4, 5]) == 1
    assert page.evaluate(CELL_COUNT, [4, 4]) == 1
    assert page.evaluate(CELL_COUNT, [3, 3]) == 0

    assert page.problems == []
