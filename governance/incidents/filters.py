"""The incidents' FilterSet, shared by the incidents page and /api/v1/incidents/."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from core.forms import checkboxes
from projects.inventory.filters import visible_projects

from ..models.findings import Severity
from ..models.incidents import Incident, IncidentStatus, Seriousness
from .selectors import NOT_SERIOUS

SERIOUS_CHOICES = [("", "Any"), ("true", "Serious"), ("false", "Not serious"), ("unknown", "Not assessed")]


class IncidentFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IncidentStatus.choices, label="Status", empty_label="Any")
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label="Severity", widget=checkboxes())
    serious = django_filters.ChoiceFilter(
        choices=SERIOUS_CHOICES[1:], method="filter_serious", label="Serious (EU AI Act)", empty_label="Any"
    )
    report_overdue = django_filters.BooleanFilter(
        method="filter_report_overdue",
        label="Report to the authority",
        widget=forms.Select(choices=[("", "Any"), ("true", "Overdue"), ("false", "Not overdue")]),
    )
    project = django_filters.ModelChoiceFilter(
        field_name="projects", queryset=visible_projects, to_field_name="slug", label="Project", empty_label="Any",
        distinct=True,
    )  # fmt: skip

    class Meta:
        model = Incident
        fields = ["status", "severity", "serious", "report_overdue", "project"]

    def filter_serious(self, queryset, name, value):
        if value == "unknown":
            return queryset.filter(seriousness=Seriousness.NOT_ASSESSED)
        if value == "true":
            return queryset.exclude(seriousness__in=NOT_SERIOUS)
        return queryset.filter(seriousness=Seriousness.NOT_SERIOUS)

    def filter_report_overdue(self, queryset, name, value):
        overdue = Q(report_due_at__isnull=False, reported_at__isnull=True, report_due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
