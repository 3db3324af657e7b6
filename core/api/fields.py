"""Serializer fields shared by every app's API."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.http import RFC3986_SUBDELIMS
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


# Stands for the object's lookup value while the URL is reversed once; matches every router's pattern.
_PLACEHOLDER = "0keel0lookup0"
_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what Django's reverse() leaves unquoted
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch  # what quote() always leaves as it is


class IdentityUrlField(serializers.HyperlinkedIdentityField):
    """HyperlinkedIdentityField that resolves the route once per serializer, not once per row.

    Reversing a URL walks the resolver each time; a page of 50 rows paid that 50 times (a tenth of a
    list's time). The URL is the same string DRF builds: the route reversed with a placeholder, the
    placeholder replaced by the row's lookup value, quoted as Django's reverse() quotes it.
    """

    def get_url(self, obj, view_name, request, format):
        if obj.pk in (None, ""):  # unsaved: no URL yet, as DRF answers
            return None
        value = getattr(obj, self.lookup_field)
        key = (view_name, id(request), format)
        if getattr(self, "_template_key", None) != key:
            kwargs = {self.lookup_url_kwarg: _PLACEHOLDER}
            self._template = self.reverse(view_name, kwargs=kwargs, request=request, format=format)
            self._template_key = key
        return self._template.replace(_PLACEHOLDER, quote(str(value), safe=_SAFE))

    def row_converter(self):
        """For core.api.rows: the row's URL from the route reversed once for the page (the bound field's
        request and format, as to_representation reads them), or None to leave it to DRF."""
        request, format = self.context.get("request"), self.context.get("format")
        if request is None:
            return None  # DRF's own assertion says what is missing
        if format and self.format and self.format != format:
            format = self.format
        try:
            template = self.reverse(self.view_name, kwargs={self.lookup_url_kwarg: _PLACEHOLDER}, request=request,
                                    format=format)  # fmt: skip
        except Exception:  # DRF's to_representation explains a route that does not reverse
            return None
        lookup = self.lookup_field

        def convert(obj):
            if obj.pk in (None, ""):
                return None
            value = str(getattr(obj, lookup))
            # A slug or an id is made of characters quote() leaves as they are: skip its encode and scan.
            return template.replace(_PLACEHOLDER, value if _UNQUOTED(value) else quote(value, safe=_SAFE))

        return convert


class ChoiceLabelField(serializers.CharField):
    """The label of a choice field's value (what `get_<field>_display` says), read-only.

    `source="get_kind_display"` made DRF inspect the method's signature on every row to decide whether
    to call it; a dict lookup says the same. An unknown value reads as itself, as Django's display does.
    """

    row_value_only = True  # core.api.rows: the label depends on the value alone, whatever the request

    def __init__(self, *, choices, **kwargs):
        self.labels = {value: str(label) for value, label in choices}
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return self.labels.get(value, value)

    def row_converter(self):
        """For core.api.rows: the output depends on the value alone."""
        return self.to_representation


class InstantField(serializers.DateTimeField):
    """An ISO 8601 instant, kept in UTC. An offset that pushes it past year 9999 or before year 1 in UTC
    (9999-12-31T23:59:59-05:00) is the field's error, not a 500 (core.dates.InstantField, for forms)."""

    default_error_messages = {
        "unrepresentable": "{value!r} is not an instant Keel can store: it falls outside years 1–9999 in UTC."
    }

    def to_internal_value(self, value):
        try:
            instant = super().to_internal_value(value)
            return instant.astimezone(dt.UTC)
        except OverflowError:
            self.fail("unrepresentable", value=value)
