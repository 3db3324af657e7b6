"""One place that turns domain and Django errors into clear API responses."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        key = exc.field or "detail"
        body = {key: [exc.message] if exc.field else exc.message, "code": exc.code}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        # Model full_clean() errors raised inside a service: field → messages, like a serializer.
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": f"Malformed request body: {exc.detail}"}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
