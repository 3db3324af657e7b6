"""The registries page and a project's Models section in a real browser (the system Chromium, via Playwright).

An admin sees a failing registry's error, presses "Sync now" (a real form POST with its CSRF token),
and a team lead links a model to their project from the project page. Fails on any console error,
page error, CSP violation or HTTP error response on the pages visited.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from core.roles import Role
from projects import tasks
from projects.models import LinkSource, SyncRun, SyncStatus
from tests.factories import PASSWORD, AIProjectFactory, TeamFactory, make_user
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var"


@pytest.fixture
def lead_with_team(transactional_db, monkeypatch):
    """Overrides the conftest fixture the browser starts after; builds the registry data too."""
    for role in Role:
        Group.objects.get_or_create(name=role)
    lead = make_user("lena", Role.TEAM_LEAD, first_name="Lena", last_name="Lindqvist")
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


def sign_in(page, user):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


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

    page.get_by_role("button", name="Sync mlflow-prod now").click()
    expect(page.locator(".messages")).to_contain_text("Sync of “mlflow-prod” queued")
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

    assert page.problems == []
