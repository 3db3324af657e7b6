"""The executive's journey on the demo data, in a real browser (the system Chromium, via Playwright).

Erin (the demo's executive) signs in and lands on the portfolio dashboard; the "In production without a valid
sign-off" tile shows the number of versions the DEPLOYED_WITHOUT_APPROVAL rule flags (computed from the
database here); she follows it to the list, drills to a version on its project's page, and looks at the
dashboard as of last month. Every page visited fits a 1440 px desktop and a 390 px phone without scrolling
sideways, with no console error, page error, CSP violation or HTTP error.

The demo's registry versions come from its MLflow server, which the browser tests do not run: the fixture
links registry models to demo projects and has their versions hold production signals, as a sync would
(one of them in a project still in Validation, as in the demo).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from governance.signoff.deployments import versions_serving_without_approval
from projects.models import AIProject, Signal, Stage
from projects.roi.figures import add_months, month_start
from tests.e2e.browser import assert_page_sound, demo_users, seed_demo, sign_in
from tests.registry_factories import RegistryFactory, hold
from tests.signoff_factories import linked_version

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1440, 390


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo data `make run` seeds (without its MLflow server), plus versions serving production."""
    seed_demo(settings, tmp_path)
    registry = RegistryFactory(name="demo-mlflow", base_url="http://127.0.0.1:5055")
    since = timezone.now() - dt.timedelta(days=12)
    production = list(AIProject.objects.filter(stage=Stage.PRODUCTION).order_by("name")[:2])
    validation = AIProject.objects.filter(stage=Stage.VALIDATION).order_by("name").first()
    for i, project in enumerate([*production, validation]):
        version = linked_version(project, registry=registry, model=f"{project.slug}-model", version=str(3 + i))
        hold(version, "production", since + dt.timedelta(days=i))
        if i == 0:
            hold(version, "Production", since, signal=Signal.STAGE)
    # Read here: the database cannot be queried once the browser's event loop runs in this thread.
    serving = [
        {"model": v.registered_model.name, "model_id": v.registered_model_id, "version": v.version,
         "project": v.registered_model.project.name, "slug": v.registered_model.project.slug,
         "stage": v.registered_model.project.stage}
        for v in versions_serving_without_approval().select_related("registered_model__project").order_by("pk")
    ]  # fmt: skip
    return demo_users(tmp_path), serving


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def fits_desktop_and_phone(page) -> None:
    assert_page_sound(page, width=DESKTOP)
    assert_page_sound(page, width=PHONE)
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def test_the_executive_sees_unapproved_production_and_drills_to_the_version(page, demo):
    from playwright.sync_api import expect

    users, serving = demo
    assert len(serving) == 3  # what the fixture made; every figure below is read from the database
    user, password = users["exec"]

    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in(page, user, password)
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio dashboard")
    tile = page.locator("#tile-unapproved .tile-value")
    expect(tile).to_have_text(str(len(serving)))
    expect(page.locator("#needs-attention")).to_contain_text(
        f"{len(serving)} model version(s) in production without a valid sign-off"
    )
    expect(page.locator("#chart-teams[data-mounted=true]")).to_have_count(1)
    fits_desktop_and_phone(page)

    # The tile leads to the list: one row per version, the Validation project's among them.
    tile.click()
    expect(page).to_have_url(re.compile(r"#unapproved-production$"))
    rows = page.locator("#unapproved-production tbody tr")
    expect(rows).to_have_count(len(serving))
    validation = next(v for v in serving if v["stage"] == Stage.VALIDATION)
    row = rows.filter(has_text=validation["project"])
    expect(row).to_contain_text("Validation")
    expect(row).to_contain_text("alias “production”")

    # Drill to the version: its model's versions on the project's page.
    first = serving[0]
    page.get_by_role("link", name=f"{first['model']} v{first['version']}").click()
    expect(page).to_have_url(re.compile(rf"/projects/{first['slug']}/#model-{first['model_id']}-versions$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(first["project"])
    versions = page.locator(f"table[aria-labelledby='model-{first['model_id']}-versions']")
    expect(versions.locator("tbody tr").first).to_contain_text(f"v{first['version']}")
    fits_desktop_and_phone(page)

    # The whole dashboard as of last month, said once at the top.
    last_month = add_months(month_start(timezone.localdate()), -1)
    page.goto(f"/governance/dashboard/?as_of={last_month:%Y-%m}")
    expect(page.locator("#as-of")).to_contain_text(f"Figures to the end of {last_month:%B %Y}")
    expect(page.locator("#tile-unapproved .tile-value")).to_have_text(str(len(serving)))
    expect(page.locator("#chart-quarters[data-mounted=true]")).to_have_count(1)
    fits_desktop_and_phone(page)

    assert page.problems == [], "\n".join(page.problems)
