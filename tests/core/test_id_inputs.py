"""An id that is no id — too large for the database, a float, negative — is a clear 4xx (or the page's form
error) and changes nothing; before core.ids, 99999999999999999999 and 1e30 were a 500 on SQLite (an
OverflowError binding the foreign-key lookup), and -1 and 1.5 quietly matched nothing."""

from __future__ import annotations

import pytest

from core.ids import BAD_ID, MAX_ID, parse_id
from governance.compliance import services as compliance_services
from governance.models import AuditEvent, Classification, Finding, Mitigation
from tests.api_errors import invalid_input
from tests.pii_factories import dataset
from tests.registry_factories import RegistryFactory
from tests.risk_factories import MitigationFactory, RiskFactory

NOT_IDS = ["99999999999999999999", "1e30", "-1", "0", "1.5", "abc", "١٢"]  # the last: Arabic-Indic digits
API_ID_FILTERS = [
    ("/api/v1/mitigations/", "risk"),
    ("/api/v1/datasets/", "model_version"),
    ("/api/v1/evidence/", "obligation"),
    ("/api/v1/classifications/", "dataset"),
]


def db_state() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Mitigation, Classification, Finding, AuditEvent))


@pytest.mark.parametrize(("url", "name"), API_ID_FILTERS)
@pytest.mark.parametrize("value", NOT_IDS)
def test_an_api_id_filter_refuses_what_is_no_id_with_a_400(admin_client, url, name, value):
    before = db_state()
    response = admin_client.get(url, {name: value})
    assert response.status_code == 400
    assert response.json() == invalid_input(name, BAD_ID)
    assert db_state() == before


def test_an_id_filter_still_selects_by_id(admin_client, project):
    risk = RiskFactory(project=project)
    mitigation = MitigationFactory(risk=risk)
    MitigationFactory(risk=RiskFactory(project=project))
    response = admin_client.get("/api/v1/mitigations/", {"risk": str(risk.pk)})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mitigation.pk]
    assert admin_client.get("/api/v1/mitigations/", {"risk": str(MAX_ID)}).json()["results"] == []


@pytest.mark.parametrize("value", ["99999999999999999999", "1e30", "-1", "1.5"])
def test_the_pii_labels_page_shows_the_id_error_and_no_rows(admin_client, risk_officer, value):
    """The labels page (the issue's /governance/pii/?dataset=, since moved to pii/labels/; pii/ is now the
    catalogue, which has no dataset filter and ignores the parameter)."""
    ds = dataset("raw.customers", "email")
    compliance_services.classification_assert(by=risk_officer, dataset=ds, pii_kind="email")
    assert admin_client.get("/governance/pii/", {"dataset": value}).status_code == 200
    response = admin_client.get("/governance/pii/labels/", {"dataset": value})
    assert response.status_code == 200
    assert response.context["filter"].errors["dataset"] == [BAD_ID]
    assert list(response.context["rows"]) == []
    assert BAD_ID in response.content.decode()
    shown = admin_client.get("/governance/pii/labels/", {"dataset": str(ds.pk)})
    assert len(shown.context["rows"]) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_pii_export_with_a_bad_id_is_a_400_naming_it(admin_client, fmt):
    response = admin_client.get("/governance/pii/labels/", {"dataset": "1e30", "export": fmt})
    assert response.status_code == 400
    assert f"dataset: {BAD_ID}" in response.content.decode()


def test_a_bulk_triage_naming_a_huge_finding_id_changes_nothing(admin_client, risk_officer):
    admin_client.force_login(risk_officer)
    before = db_state()
    data = {"action": "resolve", "resolution": "x", "findings": ["99999999999999999999"]}
    response = admin_client.post("/governance/findings/bulk/", data, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Choose findings from the list."]
    assert db_state() == before


def test_a_bulk_classification_of_a_huge_column_id_changes_nothing(admin_client, risk_officer):
    admin_client.force_login(risk_officer)
    before = db_state()
    data = {"action": "classify", "pii_kind": "email", "fields": ["99999999999999999999"]}
    response = admin_client.post("/governance/pii/bulk/", data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was changed. A selected column is not a column id."
    ]
    assert db_state() == before


def test_ids_in_a_path_or_a_poll_that_overflow_are_a_404_or_ignored(admin_client, project):
    assert admin_client.get("/api/v1/projects/99999999999999999999/").status_code == 404
    registry = RegistryFactory(name="mlflow-prod")
    poll = admin_client.get(
        f"/projects/registries/{registry.pk}/row/", {"queued": "99999999999999999999", "after": "1e30"}
    )
    assert poll.status_code == 200
    undo = admin_client.get(f"/projects/{project.slug}/roi/", {"undo": "99999999999999999999"})
    assert undo.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), (" 42 ", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("0", None), ("-1", None),
     ("1.5", None), ("1e3", None), ("²", None), ("", None), (None, None), ("9" * 5000, None)],
)  # fmt: skip
def test_parse_id(value, expected):
    assert parse_id(value) == expected
