"""The registries page and a project's Models section in a real browser (the system Chromium, via Playwright).

An admin sees a failing registry's error, presses "Sync now" (an htmx POST of the form with its CSRF
token; the registry's row updates in place until the sync ends), opens a registry's page, and a team
lead links a model to their project from the project page. Fails on any console error,
page error, CSP violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.roles import Role
from projects import tasks
from projects.models import LinkSource, Registry, SyncRun, SyncStatus
from projects.registries.sync import registry_sync
from tests.e2e.browser import assert_page_sound, sign_in
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.registry_factories import (
    T0,
    FakeAdapter,
    ModelVersionFactory,
    RegisteredModelFactory,
    RegistryFactory,
    hold,
    snapshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def lead_with_team(lena, monkeypatch):
    """Overrides the conftest fixture the browser starts after; builds the registry data too."""
    lead = lena
    admin = make_user("ada", Role.ADMIN, is_staff=True, first_name="Ada", last_name="Admin")
    team = TeamFactory(name="Claims Automation", lead=lead)
    project = AIProjectFactory(name="Claims fraud scoring", team=team, owner=lead)

    healthy = RegistryFactory(name="mlflow-prod")
    now = dt.datetime.now(tz=dt.UTC)
    SyncRun.objects.create(
        registry=healthy, started_at=now - dt.timedelta(minutes=3), finished_at=now - dt.timedelta(minutes=3),
        status=SyncStatus.SUCCEEDED,
    )  # fmt: skip
    broken = RegistryFactory(name="mlflow-eu")
    SyncRun.objects.create(
        registry=broken, finished_at=now, status=SyncStatus.FAILED,
        error="MLflow refused the credentials (401 Unauthorized); no retry.",
    )  # fmt: skip
    fraud = RegisteredModelFactory(registry=healthy, name="fraud-detector", project=project, link_source=LinkSource.TAG)
    v1 = ModelVersionFactory(registered_model=fraud, version="1")
    v2 = ModelVersionFactory(registered_model=fraud, version="2", stage="Production")
    ModelVersionFactory(registered_model=fraud, version="3", deleted_at=T0 + dt.timedelta(hours=3))
    hold(v1, "champion", T0, T0 + dt.timedelta(hours=2))
    hold(v2, "champion", T0 + dt.timedelta(hours=2))
    hold(v2, "Production", T0 + dt.timedelta(hours=1), signal="stage")
    RegisteredModelFactory(registry=healthy, name="pricing-candidate")

    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)  # no broker: just note what was queued
    return lead, team, admin, project, healthy, queued


def test_admin_sees_registry_health_and_syncs_one_then_a_lead_links_a_model(page, lead_with_team):
    from playwright.sync_api import expect

    lead, _team, admin, project, healthy, queued = lead_with_team

    sign_in(page, admin)
    page.get_by_role("link", name="Registries").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Model registries")
    expect(page.get_by_role("link", name="Registries")).to_have_attribute("aria-current", "page")
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("mlflow-eu: the last sync failed.")
    expect(alert).to_contain_text("MLflow refused the credentials (401 Unauthorized); no retry.")
    prod_row = page.locator("tbody tr").filter(has_text="mlflow-prod")
    expect(prod_row).to_contain_text("Healthy")
    expect(prod_row).to_contain_text("synced 3 minutes ago")
    page.screenshot(path=str(SHOTS / "e2e-registries.png"), full_page=True)
    assert_page_sound(page, width=390)
    page.set_viewport_size(VIEWPORT)

    page.get_by_role("button", name="Sync mlflow-prod now").click()
    expect(prod_row).to_contain_text("Sync of “mlflow-prod” queued")  # the row, swapped in by htmx
    assert queued == [healthy.pk]

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, lead)
    page.goto(f"/projects/{project.slug}/")
    models = page.locator("section#models")
    expect(models.get_by_role("heading", level=3, name=re.compile("fraud-detector"))).to_be_visible()
    now_table = models.get_by_role("table").first
    expect(now_table.locator("tbody tr")).to_have_count(2)
    expect(now_table.locator("tbody tr").first).to_contain_text("champion")
    expect(now_table.locator("tbody tr").first).to_contain_text("v2")
    expect(models.locator("ol.timeline li")).to_have_count(3)
    expect(models.locator("tr.is-deleted")).to_contain_text("v3")

    page.get_by_label("Registry model").select_option(label="pricing-candidate (mlflow-prod)")
    page.get_by_role("button", name="Link model").click()
    expect(page.locator(".messages")).to_contain_text("Model “pricing-candidate” linked to this project.")
    expect(models.get_by_role("heading", level=3, name=re.compile("pricing-candidate"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "e2e-project-models.png"), full_page=True)
    assert_page_sound(page, width=1440)
    assert_page_sound(page, width=390)


class SlowAdapter(FakeAdapter):
    """A registry that takes a few seconds to answer, so the page can be seen polling a running sync."""

    def fetch_snapshot(self):
        time.sleep(3)
        return super().fetch_snapshot()


def sync_in_a_thread(project_slug: str):
    """Stands in for the Celery worker (the live server has no broker): "Sync now" enqueues on commit, and
    this runs the real sync in another thread a moment later, as a worker would. The page's polling is real."""
    snap = snapshot(
        {
            "fraud-detector": {"tags": {"keel.project": project_slug}, "aliases": {"champion": "2"}},
            "pricing-candidate": {},
            "shadow-scorer": {"aliases": {"champion": "1"}},  # serving production, linked to no project
        },
        {"fraud-detector": ["1", "2", "3"], "pricing-candidate": ["1"], "shadow-scorer": ["1"]},
        created_by="ci-bot",
    )

    def delay(registry_id: int) -> None:
        def work():
            try:
                time.sleep(0.5)
                registry_sync(registry=Registry.objects.get(pk=registry_id), adapter=SlowAdapter(snap))
            finally:
                connection.close()

        threading.Thread(target=work, daemon=True).start()

    return delay


def test_admin_opens_a_registry_page_and_sync_now_updates_the_row_without_a_reload(page, lead_with_team, monkeypatch):
    from playwright.sync_api import expect

    _lead, _team, admin, project, healthy, _queued = lead_with_team
    monkeypatch.setattr(tasks.sync_registry, "delay", sync_in_a_thread(project.slug))

    sign_in(page, admin)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/projects/registries/")
    assert_page_sound(page, width=1440)
    assert_page_sound(page, width=390)
    page.set_viewport_size({"width": 1440, "height": 900})

    # The registry's own page: configuration, last syncs, every model linked or not, with its versions.
    page.get_by_role("link", name="mlflow-prod", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("mlflow-prod")
    fraud = page.locator("tbody.model-group").filter(has_text="fraud-detector")
    expect(fraud.get_by_role("link", name="Claims fraud scoring")).to_be_visible()
    expect(fraud).to_contain_text("2 versions (+ 1 deleted)")
    expect(fraud.locator("tr.is-deleted")).to_contain_text("v3")
    expect(fraud.get_by_role("link", name="version 2 of fraud-detector in mlflow-prod")).to_have_attribute(
        "href", "http://mlflow.example:5000/#/models/fraud-detector/versions/2"
    )
    expect(page.locator("tbody.model-group").filter(has_text="pricing-candidate")).to_contain_text(
        "linked to no project"
    )
    page.screenshot(path=str(SHOTS / "e2e-registry-detail.png"), full_page=True)
    assert_page_sound(page, width=1440)
    assert_page_sound(page, width=390)
    page.set_viewport_size({"width": 1440, "height": 900})

    # Sync now: the row says it is queued, then syncing, then healthy, with no reload of the page.
    page.goto("/projects/registries/")
    page.evaluate("window.__notReloaded = true")
    row = page.locator(f"tbody#registry-{healthy.pk}")
    expect(row).to_have_attribute("data-polling", "false")
    expect(row).to_contain_text("2")  # models before the sync
    page.get_by_role("button", name="Sync mlflow-prod now").click()
    expect(row).to_contain_text("Sync of “mlflow-prod” queued; this row updates when the worker is done.")
    expect(row).to_have_attribute("data-polling", "true")
    expect(row).to_contain_text("Syncing…")
    expect(row).to_have_attribute("data-polling", "false", timeout=15_000)
    expect(row).to_contain_text("Healthy")
    expect(row).to_contain_text(re.compile(r"synced \d+\s+seconds? ago"))
    expect(row.locator("td.num").first).to_have_text("3")  # shadow-scorer came in with the sync
    assert page.evaluate("window.__notReloaded") is True
    assert_page_sound(page, width=1440)
    assert_page_sound(page, width=390)
    page.set_viewport_size({"width": 1440, "height": 900})

    # The new model serves production and no project owns it: on the registry's page, unlinked, champion.
    row.get_by_role("link", name="mlflow-prod").click()
    shadow = page.locator("tbody.model-group").filter(has_text="shadow-scorer")
    expect(shadow).to_contain_text("linked to no project")
    expect(shadow.locator(".badge.signal-alias")).to_have_text("champion")
    assert_page_sound(page, width=390)
