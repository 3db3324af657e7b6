"""The exports of the registries list and of a registry's models and versions: the page's filters and the
user's scope apply, every cell is spreadsheet-safe, and a filter that cannot be applied answers 400."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from core.exports import CSV_TYPE, XLSX_TYPE
from projects.models import LinkSource, SyncRun, SyncStatus
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold

pytestmark = pytest.mark.django_db

EVIL = '\x01=HYPERLINK("x")'
SAFE = "'" + '=HYPERLINK("x")'


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == CSV_TYPE
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def rows(response, fmt: str) -> list[dict]:
    return csv_rows(response) if fmt == "csv" else xlsx_rows(response)


def blank(value) -> str:
    return "" if value is None else str(value)


@pytest.fixture
def reg(project, other_project):
    registry = RegistryFactory(name="mlflow-prod", base_url="http://mlflow.example:5000")
    SyncRun.objects.create(registry=registry, started_at=T0, finished_at=T0, status=SyncStatus.SUCCEEDED)
    fraud = RegisteredModelFactory(registry=registry, name="fraud", project=project, link_source=LinkSource.TAG)
    ModelVersionFactory(registered_model=fraud, version="1", run_id="r1")
    v2 = ModelVersionFactory(registered_model=fraud, version="2", run_id="r2", created_by="")
    hold(v2, "champion", T0)
    churn = RegisteredModelFactory(registry=registry, name="churn", project=other_project)
    ModelVersionFactory(registered_model=churn, version="1")
    evil = RegisteredModelFactory(registry=registry, name=EVIL)
    ModelVersionFactory(registered_model=evil, version="1", created_by=EVIL)
    RegisteredModelFactory(registry=registry, name="empty")  # no version yet
    return registry


# --- the registries list ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_registries_list_exports_what_it_shows_with_its_filters_and_safe_cells(client, reg, executive, fmt):
    RegistryFactory(name=EVIL, base_url="http://evil.example", enabled=False)
    client.force_login(executive)

    everything = rows(client.get("/projects/registries/", {"export": fmt}), fmt)
    enabled = rows(client.get("/projects/registries/", {"export": fmt, "enabled": "true"}), fmt)

    assert [r["name"] for r in everything] == [SAFE, "mlflow-prod"]
    prod = everything[1]
    assert (prod["kind"], prod["status"], blank(prod["models"]), blank(prod["versions"])) == (
        "MLflow", "succeeded", "4", "4",
    )  # fmt: skip
    assert everything[0]["status"] == "never synced"
    assert [r["name"] for r in enabled] == ["mlflow-prod"]


def test_a_registries_export_with_a_filter_that_cannot_be_applied_is_400(client, reg, executive):
    client.force_login(executive)
    response = client.get("/projects/registries/", {"export": "csv", "kind": "nope"})
    assert response.status_code == 400
    assert b"kind:" in response.content


def test_a_user_without_a_role_cannot_export_registries(client, reg, no_role_user):
    client.force_login(no_role_user)
    assert client.get("/projects/registries/", {"export": "csv"}).status_code == 403


# --- a registry's models and versions --------------------------------------------------------------


def url(registry) -> str:
    return f"/projects/registries/{registry.pk}/"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_registrys_export_has_one_row_per_version_with_its_links_and_safe_cells(client, reg, executive, fmt):
    client.force_login(executive)

    got = rows(client.get(url(reg), {"export": fmt}), fmt)

    assert [(r["model"], blank(r["version"])) for r in got] == [
        (SAFE, "1"), ("churn", "1"), ("empty", ""), ("fraud", "2"), ("fraud", "1"),
    ]  # fmt: skip
    fraud2 = got[3]
    assert (fraud2["project"], fraud2["link"], fraud2["holds_now"], fraud2["author"]) == (
        "Fraud scoring", "Linked by the keel.project tag", "alias:champion", "unknown",
    )  # fmt: skip
    assert fraud2["registry_version_url"] == "http://mlflow.example:5000/#/models/fraud/versions/2"
    assert fraud2["registry_run_url"] == "http://mlflow.example:5000/#/runs/r2"
    assert got[0]["author"] == SAFE
    assert got[0]["registry_version_url"].startswith("http://mlflow.example:5000/#/models/%01%3DHYPERLINK")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_team_leads_export_of_a_registry_holds_only_their_teams_and_unlinked_models(client, reg, team_lead, fmt):
    client.force_login(team_lead)

    got = rows(client.get(url(reg), {"export": fmt}), fmt)

    assert sorted({r["model"] for r in got}) == sorted({SAFE, "empty", "fraud"})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_registrys_export_follows_the_pages_filters(client, reg, executive, fmt):
    client.force_login(executive)

    got = rows(client.get(url(reg), {"export": fmt, "linked": "true", "q": "fr"}), fmt)

    assert [(r["model"], blank(r["version"])) for r in got] == [("fraud", "2"), ("fraud", "1")]


def test_a_registrys_export_with_a_bad_filter_or_format_is_400(client, reg, executive):
    client.force_login(executive)
    assert client.get(url(reg), {"export": "csv", "linked": "maybe"}).status_code == 400
    assert client.get(url(reg), {"export": "pdf"}).status_code == 400
