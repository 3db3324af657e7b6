"""The executive dashboard in a real browser (the system Chromium, via Playwright): a team lead logs
this month's actual from the quick-log form on their home page; an executive opens the dashboard
(their home page), filters it by that team and sees the realised value change to the team's figure.

Figures are read from the tiles and from the plotly graph divs' own data (what plotly drew). Every
chart must mount; fails on any console error, page error, CSP violation or HTTP error response.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from core.roles import Role
from projects.models import RoiBasis, RoiCategory, RoiKind
from projects.roi import services as roi_services
from projects.roi.figures import add_months, month_start
from projects.roi.forms import this_month
from tests.e2e.browser import sign_in
from tests.factories import AIProjectFactory, TeamFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-dashboard.png"
CHARTS = ("matrix", "cumulative", "quarters", "funnel", "teams")

CHART_DATA = """(id) => {
  const gd = document.getElementById(id);
  return gd.data.map((t) => ({name: t.name || null, type: t.type || "scatter", x: Array.from(t.x || []),
                             y: Array.from(t.y || []), customdata: t.customdata ? Array.from(t.customdata) : null}));
}"""


@pytest.fixture
def lead_with_team(lena):
    """Overrides the conftest fixture the browser starts after. Lena's Claims project has a plan
    for this month but no actual yet; Marketing's project has an actual of 4,000 this month."""
    from django.utils import timezone

    lead = lena
    team = TeamFactory(name="Claims Automation", lead=lead)
    project = AIProjectFactory(
        name="Claims fraud scoring", team=team, owner=lead,
        expected_annual_value=Decimal("240000"), expected_investment=Decimal("90000"),
    )  # fmt: skip
    other_lead = make_user("olle", Role.TEAM_LEAD)
    other = AIProjectFactory(name="Churn model", team=TeamFactory(name="Marketing", lead=other_lead), owner=other_lead)
    this_month = month_start(timezone.localdate())
    for month in (add_months(this_month, -1), this_month):
        roi_services.roi_entry_create(by=None, project=project, month=month, kind=RoiKind.VALUE,
                                      category=RoiCategory.COST_SAVING, basis=RoiBasis.PLANNED,
                                      amount=Decimal("20000"), logged_by=lead)  # fmt: skip
    roi_services.roi_entry_create(by=None, project=other, month=this_month, kind=RoiKind.VALUE,
                                  category=RoiCategory.REVENUE_UPLIFT, basis=RoiBasis.ACTUAL,
                                  amount=Decimal("4000"), logged_by=other_lead)  # fmt: skip
    executive = make_user("erin", Role.EXECUTIVE, first_name="Erin", last_name="Okafor")
    return lead, team, project, executive


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def wait_for_charts(page):
    from playwright.sync_api import expect

    for chart in CHARTS:
        expect(page.locator(f"#chart-{chart}[data-mounted=true]")).to_have_count(1)
        expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_visible()


def tile(page, name: str):
    return page.locator(f"#tile-{name} .tile-value")


def test_a_logged_actual_shows_on_the_executives_dashboard_filtered_by_team(page, lead_with_team):
    from playwright.sync_api import expect

    lead, team, project, executive = lead_with_team

    # The team lead logs this month's actual from the quick-log form on their home page.
    sign_in(page, lead)
    expect(page).to_have_url(re.compile(r"/$"))
    status = page.locator("#roi-this-month")
    expect(status.locator("tr", has_text=project.name)).to_contain_text("actuals due")
    form = status.locator("form")
    form.get_by_label("Project").select_option(label=project.name)
    form.get_by_label("Category").select_option(value="cost_saving")
    form.get_by_label("Amount").fill("18500")
    form.get_by_role("button", name="Log").click()
    logged = f"Logged EUR 18,500 for {this_month():%b %Y} (actual, Cost saving) on {project.name}."
    expect(page.locator(".messages")).to_contain_text(logged)
    expect(page.locator("#roi-this-month").locator("tr", has_text=project.name)).to_contain_text("logged")
    sign_out(page)

    # The executive's home page is the dashboard: the whole portfolio first.
    sign_in(page, executive)
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio dashboard")
    wait_for_charts(page)
    assert page.evaluate("typeof window.Plotly") == "object"
    expect(tile(page, "value")).to_have_text("EUR 22,500")  # 18,500 + Marketing's 4,000
    teams = page.evaluate(CHART_DATA, "chart-teams")
    realised = next(t for t in teams if t["name"] == "Realised value to date")
    assert dict(zip(realised["y"], realised["x"], strict=True)) == {"Claims Automation": 18500, "Marketing": 4000}

    # Filter by Lena's team: every tile and chart follows.
    page.get_by_label("Team", exact=True).select_option(label=team.name)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"/governance/dashboard/\?team={team.slug}"))
    wait_for_charts(page)
    expect(tile(page, "value")).to_have_text("EUR 18,500")
    expect(page.locator("#tile-value .tile-note")).to_contain_text("46 % of the EUR 40,000 planned")
    expect(tile(page, "projects")).to_have_text("1")
    teams = page.evaluate(CHART_DATA, "chart-teams")
    assert [t["y"] for t in teams] == [["Claims Automation"]] * 3
    cumulative = {t["name"]: t["y"] for t in page.evaluate(CHART_DATA, "chart-cumulative")}
    assert cumulative["Actual value"][-1] == 18500
    assert cumulative["Planned value"] == [20000, 40000]
    matrix = page.evaluate(CHART_DATA, "chart-matrix")
    assert [point[0] for trace in matrix for point in trace["customdata"]] == [f"/projects/{project.slug}/"]
    funnel = page.evaluate(CHART_DATA, "chart-funnel")
    assert funnel[0]["type"] == "bar"  # the cartesian bundle has no funnel trace
    assert funnel[0]["x"] == [1, 0, 0, 0, 0]
    rows = page.locator("#dashboard-projects tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=project.name)).to_have_attribute("href", f"/projects/{project.slug}/")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Clicking the project's bubble opens its page.
    x, y = page.evaluate(
        """() => {
          const gd = document.getElementById("chart-matrix");
          gd.scrollIntoView();
          const trace = gd.data.find((t) => t.customdata && t.customdata.length);
          const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          return [box.left + xa._offset + xa.l2p(trace.x[0]), box.top + ya._offset + ya.l2p(trace.y[0])];
        }"""
    )
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(rf"/projects/{project.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(project.name)

    assert page.problems == []
