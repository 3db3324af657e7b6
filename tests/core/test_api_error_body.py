"""Every 4xx answer of the API has one body (core.api.exceptions): `detail` (a sentence) and `code` (a stable
reason), one list of messages per refused field, and `non_field_errors` (never Django's `__all__`) for errors
that concern no single field. The OpenAPI schema publishes that body as the `Error` component."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.errors import DomainError

JSON = {"content_type": "application/json"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def assert_error_body(body: dict) -> None:
    """The contract every error body keeps, whatever else it carries."""
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    assert "__all__" not in body


# --- errors raised inside a view, through DRF's whole request cycle ---------------------------------------


class _HorizonInput(serializers.Serializer):
    name = serializers.CharField()
    horizon_months = serializers.IntegerField(min_value=1)


def _raise(request):
    """What the view raises, chosen by ?raise=; reading request.data first parses (or fails to parse) the body."""
    data = request.data
    match request.query_params["raise"]:
        case "serializer":
            _HorizonInput(data=data).is_valid(raise_exception=True)
        case "domain-field":
            raise DomainError("A project cannot move from idea to idea.", field="stage", code="illegal_transition")
        case "domain":
            raise DomainError("Risks are closed, not deleted.", code="not_deletable")
        case "model-non-field":
            raise DjangoValidationError({NON_FIELD_ERRORS: ["An entry for this month exists; change it instead."]})
        case "model-field-and-non-field":
            raise DjangoValidationError({"month": ["Give the month as YYYY-MM."], NON_FIELD_ERRORS: ["Duplicate."]})
        case "model-plain":
            raise DjangoValidationError("This registry is in use.")


class _RaisingView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        _raise(request)


def call(kind: str, body: str = "{}"):
    request = APIRequestFactory().post(f"/?raise={kind}", body, content_type="application/json")
    response = _RaisingView.as_view()(request)
    response.render()
    return response.status_code, json.loads(response.content)


def test_a_serializer_field_error_names_the_fields_and_lists_each_ones_messages():
    status, body = call("serializer", '{"horizon_months": 0}')
    assert (status, body) == (400, {
        "detail": "Invalid input: name, horizon_months.", "code": "invalid",
        "name": ["This field is required."], "horizon_months": ["Ensure this value is greater than or equal to 1."],
    })  # fmt: skip


def test_a_domain_error_with_a_field_says_it_in_detail_and_under_the_field():
    status, body = call("domain-field")
    message = "A project cannot move from idea to idea."
    assert (status, body) == (400, {"detail": message, "code": "illegal_transition", "stage": [message]})


def test_a_domain_error_without_a_field_is_detail_and_code_only():
    assert call("domain") == (400, {"detail": "Risks are closed, not deleted.", "code": "not_deletable"})


def test_a_model_non_field_error_is_listed_under_non_field_errors_never_all():
    message = "An entry for this month exists; change it instead."
    status, body = call("model-non-field")
    assert (status, body) == (400, {"detail": message, "code": "invalid", "non_field_errors": [message]})
    assert_error_body(body)


def test_model_field_and_non_field_errors_keep_one_list_each():
    status, body = call("model-field-and-non-field")
    assert (status, body) == (400, {
        "detail": "Invalid input: month, non_field_errors.", "code": "invalid",
        "month": ["Give the month as YYYY-MM."], "non_field_errors": ["Duplicate."],
    })  # fmt: skip


def test_a_model_error_without_fields_is_its_message():
    assert call("model-plain") == (400, {"detail": "This registry is in use.", "code": "invalid"})


def test_a_malformed_body_is_a_parse_error_that_quotes_the_parser():
    status, body = call("serializer", '{"name": ')
    assert (status, body["code"], set(body)) == (400, "parse_error", {"detail", "code"})
    assert body["detail"].startswith("Malformed request body: JSON parse error - ")


# --- the real API: authentication, permissions, routing ---------------------------------------------------


def test_an_anonymous_caller_gets_a_401_body(client, db):
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_a_role_that_may_not_write_gets_a_403_body(client, executive):
    client.force_login(executive)
    response = client.post("/api/v1/projects/", {}, **JSON)
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this operation.", "code": "permission_denied"}


def test_an_unknown_id_gets_a_404_body(client, team_lead):
    client.force_login(team_lead)
    response = client.get("/api/v1/projects/no-such-project/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such project, or you may not see it.", "code": "not_found"}


def test_a_wrong_method_gets_a_405_body(client, team_lead, project):
    client.force_login(team_lead)
    response = client.put(f"/api/v1/projects/{project.slug}/transition/", {"stage": "design"}, **JSON)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}


def test_real_refusals_keep_the_contract(client, team_lead, project):
    client.force_login(team_lead)
    refusals = [
        client.post("/api/v1/projects/", {}, **JSON),
        client.post("/api/v1/projects/", '{"name": ', **JSON),
        client.post(f"/api/v1/projects/{project.slug}/transition/", {"stage": project.stage}, **JSON),
        client.get("/api/v1/projects/", {"stage": "bogus"}),
    ]
    assert [r.status_code for r in refusals] == [400, 400, 400, 400]
    for response in refusals:
        assert_error_body(response.json())
    created, malformed, transition, listed = (r.json() for r in refusals)
    assert (created["code"], created["name"]) == ("invalid", ["This field is required."])
    assert malformed["code"] == "parse_error"
    assert (transition["code"], transition["stage"]) == ("illegal_transition", [transition["detail"]])
    assert listed["code"] == "invalid"


# --- the OpenAPI schema -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def error_schema_of(schema, path: str, method: str, status: str) -> dict:
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_schema_publishes_the_error_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) >= {"detail", "code", "non_field_errors"}
    assert error["required"] == ["code", "detail"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/projects/", "post", ["400", "401", "403"]),
        ("/api/v1/projects/", "get", ["400", "401", "403"]),  # a list with filters
        ("/api/v1/projects/{slug}/", "get", ["401", "403", "404"]),
        ("/api/v1/projects/{slug}/", "patch", ["400", "401", "403", "404"]),
        ("/api/v1/projects/{slug}/transition/", "post", ["400", "401", "403", "404"]),
        ("/api/v1/signoffs/{id}/approve/", "post", ["400", "401", "403", "404"]),
    ],
)
def test_operations_declare_their_error_answers_with_the_error_component(schema, path, method, statuses):
    for status in statuses:
        assert error_schema_of(schema, path, method, status) == ERROR_REF, status


def test_a_view_s_own_error_bodies_are_kept(schema):
    assert error_schema_of(schema, "/api/v1/roi-entries/bulk/", "post", "400") == {
        "$ref": "#/components/schemas/ROIBulkErrors"
    }
    assert error_schema_of(schema, "/api/v1/lineage", "post", "400") == {"$ref": "#/components/schemas/LineageRefused"}


def test_a_detail_route_s_read_has_no_400_and_an_open_route_no_401(schema):
    assert "400" not in schema["paths"]["/api/v1/projects/{slug}/"]["get"]["responses"]
    assert "401" not in schema["paths"]["/api/v1/gate/public-key"]["get"]["responses"]
