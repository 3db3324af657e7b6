"""OpenAPI (drf-spectacular) descriptions of Keel's own API plumbing: the token scheme (loaded by
CoreConfig.ready()), the error answers every operation documents (a hook named in SPECTACULAR_SETTINGS), and
the schema class (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) that lets a response say what the database may hold."""

from __future__ import annotations

import copy

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from core.api.exceptions import ErrorSerializer


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token keel_<prefix>_<secret>` (core.authentication.ApiTokenAuthentication)."""

    target_class = "core.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=self.target.keyword)


class BearerApiTokenScheme(ApiTokenScheme):
    """The same API token as tokenAuth, sent as `Authorization: Bearer <key>`."""

    target_class = "core.authentication.BearerApiTokenAuthentication"
    name = "bearerTokenAuth"


# --- Responses carry what the database may hold ----------------------------------------------------------


def _model_field(field: serializers.Field) -> tuple[models.Field | None, bool]:
    """The concrete model column a serializer field reads, and whether a nullable relation on its way there
    (`source="project.risk_tier"`) can make it null; (None, False) for computed fields and reverse relations."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or field.source == "*":
        return None, False
    through_null = False
    try:
        for attr in field.source_attrs[:-1]:
            relation = model._meta.get_field(attr)
            if not relation.concrete or relation.related_model is None:
                return None, False
            through_null = through_null or relation.null
            model = relation.related_model
        column = model._meta.get_field(field.source_attrs[-1])
    except FieldDoesNotExist:
        return None, False
    if not column.concrete or column.many_to_many:
        return None, False
    return column, through_null


class KeelAutoSchema(AutoSchema):
    """DRF leaves `allow_null`/`allow_blank` off read-only model fields (and off fields a serializer declares
    itself), so their published shape was narrower than what they return: a null `updated_by`, a blank
    `risk_tier` outside its enum, a blank link that is no URI. One rule here, for every response: a nullable
    column (or one reached through a nullable relation) is nullable, a blank-able column admits "". Request
    shapes are separate components (COMPONENT_SPLIT_REQUEST) and keep what the input serializers accept."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if direction == "response":
            field = _widened(field)
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _insert_field_validators(self, field, schema):
        # Called without the direction: a read-only field is only in response components (COMPONENT_SPLIT_REQUEST).
        super()._insert_field_validators(_widened(field) if field.read_only else field, schema)


def _widened(field: serializers.Field) -> serializers.Field:
    """The field with `allow_null`/`allow_blank` as its column allows: a copy, so the serializer the view uses keeps
    its own flags. drf-spectacular then writes "" and null as it does for any field that allows them (BlankEnum and
    NullEnum, `nullable`, `oneOf` with an empty string beside a format)."""
    column, through_null = _model_field(field)
    if column is None or not (column.null or through_null or column.blank):
        return field
    field = copy.copy(field)
    field.allow_null = field.allow_null or column.null or through_null
    if isinstance(column, models.CharField) and column.blank:
        field.allow_blank = True
    return field


# --- Error responses --------------------------------------------------------------------------------------

# Query parameters that page a list rather than filter it: they never cause a 400 (a page past the end is a 404).
PAGING_PARAMETERS = frozenset({"page", "page_size", "cursor"})
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
ERROR_DESCRIPTIONS = {
    "400": "Refused input: the body names each refused field, or lists non_field_errors.",
    "401": "No valid session or API token.",
    "403": "The caller's role or scope does not allow this.",
    "404": "No such object, or not one the caller may see (on a list: no such page).",
    "406": "The Accept header asks for something other than JSON.",
    "409": "The object's state moved on since it was read (e.g. a decision on a closed sign-off).",
    "415": "The body is not JSON (Content-Type).",
}


def _error_component(generator):
    """The `Error` component, derived from `ErrorSerializer` so the documented body cannot drift from the code."""
    auto_schema = AutoSchema()
    auto_schema.registry = generator.registry
    auto_schema.view = GenericAPIView(request=None)  # a serializer's context needs a view; this one has no state
    auto_schema.method, auto_schema.path = "GET", "/"
    return auto_schema.resolve_serializer(ErrorSerializer(), "response")


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    """Which error answers an operation can give: 400 on writes and filtered lists, 401/403 where a caller
    must sign in, 404 on routes that name one object and on paged lists (a page or cursor past the end),
    409 on writes (core.errors.ConflictError: the state moved on since the caller read it), 415 where a body
    is read (one that is not JSON), 406 everywhere (an Accept header that JSON does not satisfy)."""
    codes = []
    query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    if method in WRITE_METHODS or query - PAGING_PARAMETERS:
        codes.append("400")
    if {} not in operation.get("security", []):  # `{}` in the list means anonymous callers are let in
        codes += ["401", "403"]
    if "{" in path or query & PAGING_PARAMETERS:
        codes.append("404")
    codes.append("406")
    if method in WRITE_METHODS:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("415")
    return codes


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: publish the `Error` component and declare, on every operation,
    the error answers core.api.exceptions gives it. Responses a view declared with a body are kept as they are."""
    component = _error_component(generator)
    result.setdefault("components", {}).setdefault("schemas", {})[component.name] = component.schema
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, method, operation):
                response = responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
                # A view's own body (the ROI bulk import's rows, the lineage refusal) stays; a view that only
                # described the answer gets the body the exception handler actually sends.
                response.setdefault("content", {"application/json": {"schema": component.ref}})
    return result
