"""One behaviour for a filter that cannot be applied, on the page, in its exports and in the API.

The page shows the filter form's error and no rows (it used to show every row on the project list and
the ledger); an export asked with such a filter answers 400 naming the error (the project list's CSV used
to be empty, the ledger's CSV held every entry); the API list answers 400 through DRF's filter backend.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from projects.roi import services as roi_services
from projects.roi.filters import MONTH_INVALID

HEALTH_INVALID = "Select a valid choice. bogus is not one of the available choices."


@pytest.fixture
def entry(project, team_lead):
    return roi_services.roi_entry_create(
        by=team_lead, project=project, month=dt.date(2025, 1, 1), kind="cost", category="compute",
        basis="actual", amount=Decimal("100"), note="ledger-row-marker",
    )  # fmt: skip


def test_the_project_list_shows_the_error_and_no_rows(client, team_lead, project):
    client.force_login(team_lead)
    response = client.get("/projects/", {"health": "bogus"})
    assert response.status_code == 200
    assert response.context["filter"].errors["health"] == [HEALTH_INVALID]
    assert list(response.context["projects"]) == []
    html = response.content.decode()
    assert HEALTH_INVALID in html
    assert f'href="/projects/{project.slug}/"' not in html
    # The same page without the bad filter does list the project.
    assert f'href="/projects/{project.slug}/"' in client.get("/projects/").content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_project_list_export_with_a_bad_filter_is_a_400_naming_the_error(client, team_lead, project, fmt):
    client.force_login(team_lead)
    response = client.get("/projects/", {"health": "bogus", "export": fmt})
    assert response.status_code == 400
    text = response.content.decode()
    assert "health" in text
    assert HEALTH_INVALID in text


def test_an_unknown_export_format_is_a_400(client, team_lead, project):
    client.force_login(team_lead)
    response = client.get("/projects/", {"export": "pdf"})
    assert response.status_code == 400
    assert "'pdf'" in response.content.decode()


def test_the_project_api_list_with_the_same_bad_filter_is_a_400(client, team_lead, project):
    client.force_login(team_lead)
    response = client.get("/api/v1/projects/", {"health": "bogus"})
    assert response.status_code == 400
    assert "health" in response.content.decode()


def test_the_roi_ledger_shows_the_error_and_no_rows(client, team_lead, project, entry):
    client.force_login(team_lead)
    url = f"/projects/{project.slug}/roi/"
    response = client.get(url, {"month_from": "soon"})
    assert response.status_code == 200
    assert response.context["filter"].errors["month_from"] == [MONTH_INVALID]
    assert list(response.context["entries"]) == []
    html = response.content.decode()
    assert MONTH_INVALID in html
    assert "ledger-row-marker" not in html
    assert "ledger-row-marker" in client.get(url).content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_roi_ledger_export_with_a_bad_filter_is_a_400_naming_the_error(client, team_lead, project, entry, fmt):
    client.force_login(team_lead)
    response = client.get(f"/projects/{project.slug}/roi/", {"month_from": "soon", "export": fmt})
    assert response.status_code == 400
    text = response.content.decode()
    assert "month_from" in text
    assert MONTH_INVALID in text


def test_the_roi_api_list_with_the_same_bad_filter_is_a_400(client, team_lead, project, entry):
    client.force_login(team_lead)
    response = client.get("/api/v1/roi-entries/", {"month_from": "soon"})
    assert response.status_code == 400
    assert "month_from" in response.content.decode()


def test_the_registry_list_shows_the_error_and_no_rows(client, admin_user):
    from tests.registry_factories import RegistryFactory

    RegistryFactory(name="registry-row-marker")
    client.force_login(admin_user)
    response = client.get("/projects/registries/", {"kind": "bogus"})
    assert response.status_code == 200
    assert "kind" in response.context["filter"].errors
    assert list(response.context["registries"]) == []
    assert "registry-row-marker" not in response.content.decode()
    assert "registry-row-marker" in client.get("/projects/registries/").content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_valid_filter_exports_only_what_the_page_shows(client, executive, project, other_project, fmt):
    client.force_login(executive)
    response = client.get("/projects/", {"team": project.team.slug, "export": fmt})
    assert response.status_code == 200
    if fmt == "csv":
        body = b"".join(response.streaming_content).decode()
    else:
        import io

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.content)).active
        body = "\n".join(",".join(str(c.value) for c in row) for row in sheet.iter_rows())
    assert project.slug in body
    assert other_project.slug not in body
