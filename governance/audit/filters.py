"""The audit trail's one FilterSet, shared by the audit page and /api/v1/audit-events/."""

from __future__ import annotations

import django_filters

from ..models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    """Shared by the audit page and /api/v1/audit-events/."""

    object_type = django_filters.CharFilter(label="Object type")
    object_id = django_filters.CharFilter(label="Object id")
    actor = django_filters.CharFilter(field_name="actor_repr", label="Actor (username)")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label="From")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label="Until")
    date_from = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__gte", label="From date")
    date_to = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__lte", label="To date")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "actor", "action", "since", "until", "date_from", "date_to"]
