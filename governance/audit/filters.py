"""The audit trail's one FilterSet, shared by the audit page and /api/v1/audit-events/."""

from __future__ import annotations

import django_filters
from django import forms
from django.apps import apps

from core.dates import InstantFilter

from ..models import AuditEvent
from .subjects import SUBJECTS


def object_type_choices() -> list[tuple[str, str]]:
    """The object types Keel audits, by name, for the page's drop-down (the filter itself takes any type)."""
    named = [(key, apps.get_model(s.model)._meta.verbose_name.capitalize()) for key, s in SUBJECTS.items()]
    return [("", "Any"), *sorted(named, key=lambda choice: choice[1]), ("gate", "Deployment gate (no version found)")]


class AuditEventFilterSet(django_filters.FilterSet):
    """Shared by the audit page and /api/v1/audit-events/."""

    object_type = django_filters.CharFilter(label="Object type", widget=forms.Select(choices=object_type_choices))
    object_id = django_filters.CharFilter(label="Object id")
    actor = django_filters.CharFilter(field_name="actor_repr", label="Actor (username)")
    action = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", label="Action (or its start, e.g. signoff.)"
    )
    # Days for people (a date picker), exact instants for scripts (ISO 8601, as the API takes them).
    date_from = django_filters.DateFilter(
        field_name="occurred_at",
        lookup_expr="date__gte",
        label="From day",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="occurred_at",
        lookup_expr="date__lte",
        label="To day",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    since = InstantFilter(
        field_name="occurred_at", lookup_expr="gte", label="From instant (ISO 8601, e.g. 2026-12-01T09:00Z)"
    )
    until = InstantFilter(field_name="occurred_at", lookup_expr="lt", label="Before instant (ISO 8601)")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "actor", "action", "since", "until", "date_from", "date_to"]
