"""Serializer fields shared by every app's API."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.STR)
class ScopedSlugRelatedField(serializers.SlugRelatedField):
    """A related object named by a slug, among those the caller may see (`scope(user=...)`, a selector).

    Fails closed: without a request in the serializer's context the caller is nobody, who sees nothing.
    An object outside the caller's scope reads as unknown ("does not exist"), so the API is no oracle
    for what other teams hold.
    """

    def __init__(self, *, scope: Callable[..., QuerySet], slug_field: str = "slug", **kwargs):
        self.scope = scope
        super().__init__(slug_field=slug_field, **kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None) or AnonymousUser()
        return self.scope(user=user)
