"""One error body for the whole API, and the one place that turns errors into it.

Every 4xx answer is a JSON object with
- `detail`: one sentence a person can read,
- `code`: a stable machine-readable reason (`invalid`, `not_found`, `permission_denied`, a domain code…),
- and, when the error concerns input fields, one key per field holding its list of messages; errors
  that concern no single field are listed under `non_field_errors` (DRF's name; Django's `__all__`
  never reaches a client).
Some endpoints add keys of their own next to these (the lineage ingest's `reasons`, the ROI bulk
import's `rows`). The shape is published as the `Error` component of the OpenAPI schema.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

INVALID_INPUT = "Invalid input: {fields}."
INVALID = "Invalid input."


def _field_key(name: str) -> str:
    return api_settings.NON_FIELD_ERRORS_KEY if name in (NON_FIELD_ERRORS, None) else name


def error_body(*, detail: str, code: str, fields: dict[str, list[str]] | None = None) -> dict:
    """The API's error body (see the module docstring)."""
    body: dict = {"detail": detail, "code": code}
    for name, messages in (fields or {}).items():
        body[_field_key(name)] = messages  # a list of messages (or, for a nested serializer, its own errors)
    return body


def _validation_body(errors) -> dict:
    """A serializer's or a model's field errors as the error body, with a summary naming the fields."""
    if isinstance(errors, dict):
        # A nested serializer's errors stay a dict (field → messages), like the client's nested input.
        fields = {name: m if isinstance(m, list | dict) else [m] for name, m in errors.items()}
        names = [_field_key(name) for name in fields]
        firsts = [m for messages in fields.values() if isinstance(messages, list) for m in messages[:1]]
        firsts = [m for m in firsts if isinstance(m, str)]
        if names == [api_settings.NON_FIELD_ERRORS_KEY] and firsts:
            detail = str(firsts[0])
        else:
            detail = INVALID_INPUT.format(fields=", ".join(names)) if names else INVALID
        return error_body(detail=detail, code="invalid", fields=fields)
    messages = [str(m) for m in (errors if isinstance(errors, list) else [errors])]
    return error_body(detail=" ".join(messages) or INVALID, code="invalid")


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else None
        return Response(error_body(detail=exc.message, code=exc.code, fields=fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        # Model full_clean() errors raised inside a service: field → messages, like a serializer's.
        errors = exc.message_dict if hasattr(exc, "message_dict") else exc.messages
        return Response(_validation_body(errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        body = error_body(detail=f"Malformed request body: {exc.detail}", code="parse_error")
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        response = drf_exception_handler(exc, context)
        response.data = _validation_body(exc.detail)
        return response
    if isinstance(exc, Http404):  # Django's own 404 and 403 get the code DRF's would have
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(detail=str(exc.detail), code=code)
    return response


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer (plus one list of messages per input field that was refused)."""

    detail = serializers.CharField(help_text="What went wrong, in one sentence a person can read.")
    code = serializers.CharField(help_text="A stable machine-readable reason, e.g. invalid, not_found, conflict.")
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Errors that concern no single field."
    )
