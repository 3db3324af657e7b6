"""Bad input to the project pages and API gets a clear error and changes nothing.

Every refusal compares every AIProject row and the audit-event count before and after the request;
the accepted writes that sit next to them prove the same requests succeed once the input is right.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from core.middleware import REQUEST_TOO_LARGE
from governance.models import AuditEvent
from projects.inventory import services
from projects.inventory.services import ILLEGAL_TRANSITION, SAME_STAGE, SLUG_TAKEN
from projects.models import AIProject, Stage, currency_validator
from tests.api_errors import field_errors

REQUIRED = "This field is required."
CURRENCY = currency_validator.message
NON_NEGATIVE = "Ensure this value is greater than or equal to 0."
NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."
NOTHING_SAVED = "Please correct the errors below; nothing was saved."


def db_state():
    """Every project row, field by field, and how long the audit trail is."""
    return list(AIProject.objects.order_by("pk").values()), AuditEvent.objects.count()


@pytest.fixture
def lead_client(client, team_lead, project, other_project):
    client.force_login(team_lead)
    return client


def api_body(team_lead, /, **changes):
    return {"name": "Claims triage", "purpose": "Routes incoming claims.", "team": "claims",
            "owner": team_lead.username, **changes}  # fmt: skip


def form_body(team, team_lead, /, **changes):
    body = {
        "name": "Claims triage", "purpose": "Routes incoming claims.", "team": team.pk, "owner": team_lead.pk,
        "stage": "idea", "health": "on_track", "currency": "EUR", "expected_investment": "1000",
        "expected_annual_value": "5000", "horizon_months": "24",
    }  # fmt: skip
    return {k: v for k, v in {**body, **changes}.items() if v is not None}


# --- API: create ------------------------------------------------------------------------------------

API_CREATE_REFUSALS = [
    ("missing required fields", None, 400,
     {"name": [REQUIRED], "purpose": [REQUIRED], "team": [REQUIRED], "owner": [REQUIRED]}),
    ("unknown team slug", {"team": "nope"}, 400, {"team": ["Object with slug=nope does not exist."]}),
    ("unknown owner", {"owner": "ghost"}, 400, {"owner": ["Object with username=ghost does not exist."]}),
    ("negative investment", {"expected_investment": "-1"}, 400, {"expected_investment": [NON_NEGATIVE]}),
    ("negative annual value", {"expected_annual_value": "-0.01"}, 400, {"expected_annual_value": [NON_NEGATIVE]}),
    ("lower-case currency", {"currency": "usd"}, 400, {"currency": [CURRENCY]}),
    ("four-letter currency", {"currency": "EURO"}, 400,
     {"currency": [CURRENCY, "Ensure this field has no more than 3 characters."]}),
    ("zero-month horizon", {"horizon_months": 0}, 400,
     {"horizon_months": ["Ensure this value is greater than or equal to 1."]}),
    ("start in production", {"stage": "production"}, 400, {"stage": ['"production" is not a valid choice.']}),
    ("unknown stage", {"stage": "bogus"}, 400, {"stage": ['"bogus" is not a valid choice.']}),
    # Another team reads exactly like an unknown one: the API is no oracle for which teams exist.
    ("another team's slug", {"team": "marketing"}, 400, {"team": ["Object with slug=marketing does not exist."]}),
    ("a slug already taken", {"slug": "fraud-scoring"}, 400, {"slug": [SLUG_TAKEN.format(slug="fraud-scoring")]}),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "status", "body"), [pytest.param(*r[1:], id=r[0]) for r in API_CREATE_REFUSALS])
def test_api_create_refuses_bad_input_and_writes_nothing(lead_client, team_lead, changes, status, body):
    before = db_state()
    payload = {} if changes is None else api_body(team_lead, **changes)
    response = lead_client.post("/api/v1/projects/", payload, content_type="application/json")
    assert (response.status_code, field_errors(response)) == (status, body)
    assert db_state() == before


def test_api_create_with_good_input_writes_the_project_and_one_audit_event(lead_client, team, team_lead):
    events = AuditEvent.objects.count()
    response = lead_client.post(
        "/api/v1/projects/", api_body(team_lead, expected_investment="1000"), content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "claims-triage"
    project = AIProject.objects.get(slug="claims-triage")
    event = AuditEvent.objects.get(seq=events + 1)
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.actor_repr, event.object_id, event.before) == (
        "project.created", "lead", str(project.pk), None,
    )  # fmt: skip
    assert event.after == {
        "name": "Claims triage", "slug": "claims-triage", "purpose": "Routes incoming claims.", "team": team.pk,
        "owner": team_lead.pk, "executive_sponsor": None, "stage": "idea", "health": "on_track", "currency": "EUR",
        "expected_investment": "1000.00", "expected_annual_value": "0.00", "start_month": None, "horizon_months": 36,
    }  # fmt: skip


# --- API: update and transition ---------------------------------------------------------------------

API_PATCH_REFUSALS = [
    ("negative investment", {"expected_investment": "-5"}, 400, {"expected_investment": [NON_NEGATIVE]}),
    ("bad currency", {"currency": "eu"}, 400, {"currency": [CURRENCY]}),
    ("blank name", {"name": ""}, 400, {"name": ["This field may not be blank."]}),
    ("unknown owner", {"owner": "ghost"}, 400, {"owner": ["Object with username=ghost does not exist."]}),
    ("unknown team slug", {"team": "nope"}, 400, {"team": ["Object with slug=nope does not exist."]}),
    ("move to another team", {"team": "marketing"}, 400, {"team": ["Object with slug=marketing does not exist."]}),
]


@pytest.mark.parametrize(("changes", "status", "body"), [pytest.param(*r[1:], id=r[0]) for r in API_PATCH_REFUSALS])
def test_api_update_refuses_bad_input_and_writes_nothing(lead_client, project, changes, status, body):
    before = db_state()
    response = lead_client.patch(f"/api/v1/projects/{project.slug}/", changes, content_type="application/json")
    assert (response.status_code, field_errors(response)) == (status, body)
    assert db_state() == before


def test_api_update_ignores_the_read_only_stage_and_slug(lead_client, project):
    before = db_state()
    response = lead_client.patch(
        f"/api/v1/projects/{project.slug}/", {"stage": "production", "slug": "renamed"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["slug"]) == ("idea", "fraud-scoring")
    assert db_state() == before  # nothing changed, so no write and no audit event


def test_api_update_records_only_the_changed_field(lead_client, project):
    events = AuditEvent.objects.count()
    response = lead_client.patch(
        f"/api/v1/projects/{project.slug}/", {"name": "Fraud scoring v2", "currency": "EUR"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200
    assert AIProject.objects.get(pk=project.pk).name == "Fraud scoring v2"
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(seq=events + 1)
    assert (event.action, event.actor_repr, event.before, event.after) == (
        "project.updated", "lead", {"name": "Fraud scoring"}, {"name": "Fraud scoring v2"},
    )  # fmt: skip


TRANSITION_REFUSALS = [
    ("jump from idea to production", {"stage": "production"}, 400, {
        "detail": ILLEGAL_TRANSITION.format(current="idea", target="production", allowed="design, retired"),
        "stage": [ILLEGAL_TRANSITION.format(current="idea", target="production", allowed="design, retired")],
        "code": "illegal_transition"}),
    ("move to the same stage", {"stage": "idea"}, 400, {"detail": SAME_STAGE.format(stage="idea"),
     "stage": [SAME_STAGE.format(stage="idea")], "code": "illegal_transition"}),
    ("unknown stage", {"stage": "bogus"}, 400,
     {"detail": "Invalid input: stage.", "code": "invalid", "stage": ['"bogus" is not a valid choice.']}),
    ("no stage", {}, 400, {"detail": "Invalid input: stage.", "code": "invalid", "stage": [REQUIRED]}),
]  # fmt: skip


@pytest.mark.parametrize(("data", "status", "body"), [pytest.param(*r[1:], id=r[0]) for r in TRANSITION_REFUSALS])
def test_api_transition_refuses_illegal_moves_and_writes_nothing(lead_client, project, data, status, body):
    before = db_state()
    response = lead_client.post(f"/api/v1/projects/{project.slug}/transition/", data, content_type="application/json")
    assert (response.status_code, response.json()) == (status, body)
    assert db_state() == before


def test_api_transition_out_of_retired_names_no_allowed_stage(lead_client, project):
    services.project_change_stage(by=None, project=project, stage=Stage.RETIRED)
    before = db_state()
    response = lead_client.post(
        f"/api/v1/projects/{project.slug}/transition/", {"stage": "idea"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["stage"] == [ILLEGAL_TRANSITION.format(current="retired", target="idea", allowed="none")]
    assert db_state() == before


def test_api_transition_moves_the_stage_and_records_before_and_after(lead_client, project):
    events = AuditEvent.objects.count()
    response = lead_client.post(
        f"/api/v1/projects/{project.slug}/transition/", {"stage": "design", "reason": "Kick-off"},
        content_type="application/json",
    )  # fmt: skip
    assert (response.status_code, response.json()["stage"]) == (200, "design")
    assert response.json()["allowed_next_stages"] == ["idea", "development", "retired"]
    assert AIProject.objects.get(pk=project.pk).stage == "design"
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(seq=events + 1)
    assert (event.action, event.actor_repr, event.before, event.after) == (
        "project.stage_changed", "lead", {"stage": "idea"}, {"stage": "design", "reason": "Kick-off"},
    )  # fmt: skip


# --- API: the request itself is malformed -----------------------------------------------------------

LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
TRANSPORT_REFUSALS = [
    ("malformed JSON", '{"name": ', "application/json", 400, None),
    ("text/plain body", "name=x", "text/plain", 415,
     {"detail": 'Unsupported media type "text/plain" in request.', "code": "unsupported_media_type"}),
    ("form-encoded body", "name=x", "application/x-www-form-urlencoded", 415,
     {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
      "code": "unsupported_media_type"}),
    ("body over the size limit", "x" * (LIMIT + 1), "application/json", 400,
     {"detail": REQUEST_TOO_LARGE.format(size=LIMIT + 1, limit=LIMIT), "code": "request_too_large"}),
]  # fmt: skip


@pytest.mark.parametrize("target", ["create", "update", "transition"])
@pytest.mark.parametrize(
    ("data", "content_type", "status", "body"), [pytest.param(*r[1:], id=r[0]) for r in TRANSPORT_REFUSALS]
)
def test_api_refuses_a_malformed_request_with_a_clear_message(
    lead_client, project, target, data, content_type, status, body
):
    method, url = {
        "create": ("post", "/api/v1/projects/"),
        "update": ("patch", f"/api/v1/projects/{project.slug}/"),
        "transition": ("post", f"/api/v1/projects/{project.slug}/transition/"),
    }[target]
    before = db_state()
    response = getattr(lead_client, method)(url, data, content_type=content_type)
    assert response.status_code == status
    if body is None:  # the parser's own words follow the prefix
        assert response.json()["detail"].startswith("Malformed request body: JSON parse error - ")
    else:
        assert response.json() == body
    assert db_state() == before


# --- pages ------------------------------------------------------------------------------------------

PAGE_CREATE_REFUSALS = [
    ("missing required fields", "all", {"name": [REQUIRED], "purpose": [REQUIRED], "team": [REQUIRED]}),
    ("unknown team", {"team": 999999}, {"team": [NOT_A_CHOICE]}),
    ("another team", "other_team", {"team": [NOT_A_CHOICE]}),
    ("unknown owner", {"owner": 999999}, {"owner": [NOT_A_CHOICE]}),
    ("negative investment", {"expected_investment": "-1"}, {"expected_investment": [NON_NEGATIVE]}),
    ("bad currency", {"currency": "usd"}, {"currency": [CURRENCY]}),
    ("start in production", {"stage": "production"},
     {"stage": ["Select a valid choice. production is not one of the available choices."]}),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "errors"), [pytest.param(*r[1:], id=r[0]) for r in PAGE_CREATE_REFUSALS])
def test_create_page_shows_the_error_and_writes_nothing(lead_client, team, team_lead, other_team, changes, errors):
    if changes == "all":
        changes = dict.fromkeys(form_body(team, team_lead))
    elif changes == "other_team":
        changes = {"team": other_team.pk}
    before = db_state()
    response = lead_client.post("/projects/new/", form_body(team, team_lead, **changes))
    assert response.status_code == 200
    form_errors = response.context["form"].errors
    assert {field: form_errors[field] for field in errors} == errors
    html = response.content.decode()
    assert NOTHING_SAVED in html
    assert all(message in html for messages in errors.values() for message in messages)
    assert db_state() == before


PAGE_EDIT_REFUSALS = [
    ("blank name", {"name": ""}, {"name": [REQUIRED]}),
    ("negative value", {"expected_annual_value": "-3"}, {"expected_annual_value": [NON_NEGATIVE]}),
    ("bad currency", {"currency": "E1R"}, {"currency": [CURRENCY]}),
    ("unknown owner", {"owner": 999999}, {"owner": [NOT_A_CHOICE]}),
    ("horizon over 20 years", {"horizon_months": "241"},
     {"horizon_months": ["Ensure this value is less than or equal to 240."]}),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "errors"), [pytest.param(*r[1:], id=r[0]) for r in PAGE_EDIT_REFUSALS])
def test_edit_page_shows_the_error_and_leaves_the_project_as_it_was(
    lead_client, team, team_lead, project, changes, errors
):
    before = db_state()
    response = lead_client.post(f"/projects/{project.slug}/edit/", form_body(team, team_lead, stage=None, **changes))
    assert response.status_code == 200
    assert {field: response.context["form"].errors[field] for field in errors} == errors
    assert NOTHING_SAVED in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize("stage", ["production", "idea", "bogus"], ids=["jump", "same stage", "unknown"])
def test_stage_page_offers_only_allowed_stages_and_shows_the_error_for_others(lead_client, project, stage):
    before = db_state()
    response = lead_client.post(f"/projects/{project.slug}/stage/", {"stage": stage})
    assert response.status_code == 200
    allowed = "design, retired"
    if stage == "idea":
        message = SAME_STAGE.format(stage="idea")
    elif stage == "bogus":
        message = "Select a valid choice. bogus is not one of the available choices."
    else:
        message = ILLEGAL_TRANSITION.format(current="idea", target=stage, allowed=allowed)
    assert response.context["form"].errors == {"stage": [message]}
    assert message in response.content.decode()
    assert [value for value, _ in response.context["form"].fields["stage"].widget.choices] == ["design", "retired"]
    assert db_state() == before


def test_page_refuses_a_body_over_the_size_limit(lead_client, team, team_lead):
    before = db_state()
    response = lead_client.post("/projects/new/", "x" * (LIMIT + 1), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert REQUEST_TOO_LARGE.format(size=LIMIT + 1, limit=LIMIT) in response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert db_state() == before


def test_saving_the_edit_page_unchanged_writes_no_audit_event(lead_client, team, team_lead, project):
    # "100000" typed over the stored 100000.00 is the same amount, not a change.
    unchanged = form_body(
        team, team_lead, stage=None, name=project.name, purpose=project.purpose,
        expected_investment="100000", expected_annual_value="250000.0", horizon_months="36",
    )  # fmt: skip
    before = db_state()
    response = lead_client.post(f"/projects/{project.slug}/edit/", unchanged)
    assert (response.status_code, response["Location"]) == (302, f"/projects/{project.slug}/")
    assert db_state() == before
