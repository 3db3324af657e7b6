"""The FilterSet of /api/v1/monitoring-signals/ (the page draws every series of one project, unfiltered)."""

from __future__ import annotations

import django_filters

from core.dates import InstantFilter
from core.ids import IdFilter
from projects.inventory.filters import visible_projects

from ..models import MonitoringSignal, SignalKind, SignalSource


class MonitoringSignalFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    model_version = IdFilter(field_name="model_version_id", label="Model version id")
    name = django_filters.CharFilter(label="Signal name (exact)")
    kind = django_filters.ChoiceFilter(choices=SignalKind.choices)
    source = django_filters.ChoiceFilter(choices=SignalSource.choices)
    breached = django_filters.BooleanFilter()
    measured_from = InstantFilter(field_name="measured_at", lookup_expr="gte", label="Measured at or after")
    measured_to = InstantFilter(field_name="measured_at", lookup_expr="lt", label="Measured before")

    class Meta:
        model = MonitoringSignal
        fields = ["project", "model_version", "name", "kind", "source", "breached"]
