"""Regression tests for what the schema fuzz found (issue #14, "The API contract is not what it says"): each answer
is sent in process and checked against the live schema (tests.api_contract.call_and_check: declared status,
declared body, JSON), and the value that used to break the contract is asserted; refusals change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from core.authentication import INVALID_TOKEN
from core.roles import Role
from core.services import api_token_create, api_token_revoke
from core.views import NO_API_ROUTE
from governance.models import AuditEvent, SignOffDecision, SignOffPolicy
from projects.models import ROIEntry, Team
from projects.roi import services as roi_services
from tests.api_contract import call_and_check, load_schema
from tests.factories import AIProjectFactory, make_user
from tests.pii_factories import dataset
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import approved_request, assess, linked_version, risk_officers


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    """The schema /api/schema/ serves, read once for the module (by an admin whose rows are rolled back)."""
    with django_db_blocker.unblock(), transaction.atomic():
        reader = make_user("schema-reader", Role.ADMIN)
        loaded = load_schema(api_token_create(user=reader)[1])
        transaction.set_rollback(True)
    return loaded


def key_for(user) -> str:
    return api_token_create(user=user)[1]


def counts() -> tuple[int, int, int, int]:
    return Team.objects.count(), ROIEntry.objects.count(), SignOffDecision.objects.count(), AuditEvent.objects.count()


# --- bodies that said less than the database holds --------------------------------------------------------


def test_an_fx_rate_the_system_set_reads_with_a_null_updated_by(schema, executive):
    fx = roi_services.fx_rate_set(by=None, currency="USD", month=dt.date(2026, 1, 1), rate=Decimal("0.92"))
    response = call_and_check(
        schema, "GET", "/api/v1/fx-rates/{id}/", key=key_for(executive), path_parameters={"id": fx.pk}
    )
    assert (response.status_code, response.json()["updated_by"]) == (200, None)


def test_a_default_signoff_policy_reads_with_a_null_created_by(schema, executive):
    policy = SignOffPolicy.objects.filter(created_by=None).order_by("pk").first()
    path = "/api/v1/signoff-policies/{id}/"
    response = call_and_check(schema, "GET", path, key=key_for(executive), path_parameters={"id": policy.pk})
    assert (response.status_code, response.json()["created_by"]) == (200, None)


def test_an_roi_entry_logged_without_evidence_answers_a_blank_evidence_url(schema, team_lead, project):
    key, events = key_for(team_lead), AuditEvent.objects.count()
    body = {"project": project.slug, "month": "2026-01", "kind": "value", "category": "revenue_uplift",
            "basis": "actual", "amount": "1000.00"}  # fmt: skip
    response = call_and_check(schema, "POST", "/api/v1/roi-entries/", key=key, body=body)
    assert (response.status_code, response.json()["evidence_url"]) == (201, "")
    entry_id = response.json()["id"]
    read = call_and_check(schema, "GET", "/api/v1/roi-entries/{id}/", key=key, path_parameters={"id": entry_id})
    assert read.json()["evidence_url"] == ""
    assert AuditEvent.objects.count() == events + 1


def test_evidence_without_a_link_is_published_as_a_uri_or_blank(schema):
    link = schema.raw_schema["components"]["schemas"]["Evidence"]["properties"]["link"]
    assert link["oneOf"] == [{"type": "string", "format": "uri"}, {"type": "string", "maxLength": 0}]


def test_a_project_not_yet_assessed_reads_with_a_blank_risk_tier(schema, executive, project):
    path = "/api/v1/projects/{slug}/"
    response = call_and_check(schema, "GET", path, key=key_for(executive), path_parameters={"slug": project.slug})
    assert (response.status_code, response.json()["risk_tier"]) == (200, "")


def test_a_dataset_without_compliance_facts_reads_with_a_blank_legal_basis_and_art9_condition(schema, executive):
    ds = dataset("crm.customers", "email")
    response = call_and_check(
        schema, "GET", "/api/v1/datasets/{id}/", key=key_for(executive), path_parameters={"id": ds.pk}
    )
    body = response.json()
    assert (response.status_code, body["legal_basis"], body["art9_condition"]) == (200, "", "")


def test_a_registry_never_synced_reads_with_a_null_data_age(schema, admin_user):
    registry = RegistryFactory()
    path = "/api/v1/registries/{id}/"
    response = call_and_check(schema, "GET", path, key=key_for(admin_user), path_parameters={"id": registry.pk})
    assert (response.status_code, response.json()["data_age_seconds"]) == (200, None)


def test_team_create_and_update_answer_with_the_project_count(schema, admin_user, team_lead):
    key, events = key_for(admin_user), AuditEvent.objects.count()
    created = call_and_check(schema, "POST", "/api/v1/teams/", key=key, body={"name": "Pricing"})
    assert (created.status_code, created.json()["project_count"]) == (201, 0)
    AIProjectFactory(team=Team.objects.get(slug="pricing"), owner=team_lead)
    path = "/api/v1/teams/{slug}/"
    changed = call_and_check(
        schema, "PATCH", path, key=key, path_parameters={"slug": "pricing"}, body={"description": "Prices."}
    )
    assert (changed.status_code, changed.json()["project_count"]) == (200, 1)
    assert AuditEvent.objects.filter(seq__gt=events, action__startswith="team.").count() == 2


# --- refusals: declared, with the documented body, and nothing changed ----------------------------------


def test_an_empty_roi_bulk_is_a_documented_400_that_saves_nothing(schema, team_lead, project):
    key, before = key_for(team_lead), counts()
    response = call_and_check(
        schema, "POST", "/api/v1/roi-entries/bulk/", key=key, body={"project": project.slug, "rows": []}
    )
    assert (response.status_code, response.json()["rows"]) == (400, ["This list may not be empty."])
    assert counts() == before


def test_a_roi_bulk_with_a_bad_row_is_a_documented_400_that_saves_nothing(schema, team_lead, project):
    key, before = key_for(team_lead), counts()
    rows = [{"month": "2026-13", "kind": "value", "category": "revenue_uplift", "basis": "actual", "amount": "1"}]
    response = call_and_check(
        schema, "POST", "/api/v1/roi-entries/bulk/", key=key, body={"project": project.slug, "rows": rows}
    )
    assert (response.status_code, response.json()["code"], [r["row"] for r in response.json()["rows"]]) == (
        400, "invalid_rows", [1],
    )  # fmt: skip
    assert counts() == before


def test_a_malformed_api_path_answers_the_json_404_body_and_changes_nothing(schema, client, risk_officer):
    key, before = key_for(risk_officer), counts()
    path = "/api/v1/signoffs/{id}/reject/"
    response = call_and_check(schema, "POST", path, key=key, path_parameters={"id": "1.1"}, body={"comment": "No."})
    assert (response.status_code, response.json()) == (404, {"detail": NO_API_ROUTE, "code": "not_found"})
    assert counts() == before
    # Outside /api/ people still get the HTML page.
    client.force_login(risk_officer)
    page = client.get("/projects/no/such/page/")
    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_a_page_past_the_end_of_a_list_is_a_documented_404(schema, executive, team):
    response = call_and_check(schema, "GET", "/api/v1/teams/", key=key_for(executive), query={"page": 99})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_decision_on_a_closed_signoff_is_a_documented_409_that_changes_nothing(schema, team_lead, project):
    assess(project, "minimal")
    reviewer, second = risk_officers(2)
    request = approved_request(linked_version(project), team_lead, reviewer)
    key, before = key_for(second), counts()
    path = "/api/v1/signoffs/{id}/approve/"
    body = {"comment": "Again."}
    response = call_and_check(schema, "POST", path, key=key, path_parameters={"id": request.pk}, body=body)
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    # Nothing changed; the refused attempt itself is on the record, as the sign-off service keeps every attempt.
    assert counts() == (*before[:3], before[3] + 1)
    assert AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[0] == "signoff.decision_refused"


# --- Bearer, like Token, on every endpoint ----------------------------------------------------------------


def test_a_bearer_token_reads_every_endpoint_not_only_lineage(schema, executive, project):
    response = call_and_check(schema, "GET", "/api/v1/projects/", key=key_for(executive), keyword="Bearer")
    assert (response.status_code, [p["slug"] for p in response.json()["results"]]) == (200, [project.slug])


def test_a_bearer_token_writes_with_its_users_role_and_the_write_is_audited(schema, admin_user):
    key, events = key_for(admin_user), AuditEvent.objects.count()
    response = call_and_check(schema, "POST", "/api/v1/teams/", key=key, keyword="Bearer", body={"name": "Pricing"})
    assert response.status_code == 201
    event = AuditEvent.objects.get(seq__gt=events)
    assert (event.action, event.actor_id) == ("team.created", admin_user.pk)


def test_a_bearer_token_is_refused_by_the_same_rules(schema, executive):
    key, before = key_for(executive), counts()
    denied = call_and_check(schema, "POST", "/api/v1/teams/", key=key, keyword="Bearer", body={"name": "Pricing"})
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")
    assert counts() == before
    api_token_revoke(token=executive.api_tokens.get())
    before = counts()
    revoked = call_and_check(schema, "POST", "/api/v1/teams/", key=key, keyword="Bearer", body={"name": "Pricing"})
    assert (revoked.status_code, revoked.json()) == (401, {"detail": INVALID_TOKEN, "code": "authentication_failed"})
    assert counts() == before


def test_a_body_that_is_not_json_is_a_documented_415_that_changes_nothing(schema, admin_user):
    key, before = key_for(admin_user), counts()
    response = call_and_check(
        schema, "POST", "/api/v1/teams/", key=key, body={"name": "Pricing"}, headers={"Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    assert counts() == before


def test_an_accept_header_json_cannot_satisfy_is_a_documented_406(schema, executive):
    response = call_and_check(
        schema, "GET", "/api/v1/teams/", key=key_for(executive), headers={"Accept": "application/xml"}
    )
    assert (response.status_code, response.json()["code"]) == (406, "not_acceptable")
