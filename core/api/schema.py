"""OpenAPI (drf-spectacular) descriptions of Keel's own API plumbing: the token scheme (loaded by
CoreConfig.ready()) and the error answers every operation documents (a hook named in SPECTACULAR_SETTINGS)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.generics import GenericAPIView

from core.api.exceptions import ErrorSerializer


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token keel_<prefix>_<secret>` (core.authentication.ApiTokenAuthentication)."""

    target_class = "core.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=self.target.keyword)


# --- Error responses --------------------------------------------------------------------------------------

# Query parameters that page a list rather than filter it: they never cause a 400 (an unknown page is a 404).
PAGING_PARAMETERS = frozenset({"page", "page_size", "cursor"})
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
ERROR_DESCRIPTIONS = {
    "400": "Refused input: the body names each refused field, or lists non_field_errors.",
    "401": "No valid session or API token.",
    "403": "The caller's role or scope does not allow this.",
    "404": "No such object, or not one the caller may see.",
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
    must sign in, 404 on routes that name one object."""
    codes = []
    filters = [
        p for p in operation.get("parameters", []) if p.get("in") == "query" and p["name"] not in PAGING_PARAMETERS
    ]
    if method in WRITE_METHODS or filters:
        codes.append("400")
    if {} not in operation.get("security", []):  # `{}` in the list means anonymous callers are let in
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
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
