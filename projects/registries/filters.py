"""Registry, model, version and deployment FilterSets, shared by the HTML pages and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from core.dates import InstantFilter

from ..inventory.filters import visible_projects
from ..models import (
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryKind,
    Signal,
)
from .selectors import held_at

AT_INVALID = "Give `at` as an ISO 8601 date and time, e.g. 2025-11-03T09:00:00Z."
DELETED_CHOICES = [("false", "Still in the registry"), ("true", "Include deleted")]
YES_NO = [("true", "Yes"), ("false", "No")]


class RegistryFilterSet(django_filters.FilterSet):
    """Shared by /projects/registries/ and /api/v1/registries/."""

    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=RegistryKind.choices, label="Kind")
    enabled = django_filters.ChoiceFilter(choices=YES_NO, method="is_enabled", label="Enabled")

    class Meta:
        model = Registry
        fields = ["q", "kind", "enabled"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(base_url__icontains=value))

    def is_enabled(self, queryset, name, value):
        return queryset.filter(enabled=value == "true")


class _LiveByDefault(django_filters.FilterSet):
    """Rows a sync no longer sees (deleted_at set) are left out unless the caller asks for them."""

    deleted = django_filters.ChoiceFilter(
        choices=DELETED_CHOICES, method="keep", label="Deleted", empty_label="Still in the registry"
    )
    deleted_path = "deleted_at"

    def keep(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also runs when the parameter is absent

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("deleted") != "true":
            queryset = queryset.filter(**{f"{self.deleted_path}__isnull": True})
        return queryset


class RegisteredModelFilterSet(_LiveByDefault):
    """Shared by /api/v1/registered-models/ and the project page's link form."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    registry = django_filters.ModelChoiceFilter(queryset=Registry.objects.all(), label="Registry")
    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    linked = django_filters.ChoiceFilter(choices=YES_NO, method="is_linked", label="Linked to a project")

    class Meta:
        model = RegisteredModel
        fields = ["q", "registry", "project", "linked", "deleted"]

    def is_linked(self, queryset, name, value):
        return queryset.filter(project__isnull=value != "true")


class ModelVersionFilterSet(_LiveByDefault):
    """Shared by /api/v1/model-versions/ (and any page that lists versions)."""

    project = django_filters.ModelChoiceFilter(
        queryset=visible_projects, to_field_name="slug", field_name="registered_model__project", label="Project"
    )
    registry = django_filters.ModelChoiceFilter(
        queryset=Registry.objects.all(), field_name="registered_model__registry", label="Registry"
    )
    model = django_filters.CharFilter(field_name="registered_model__name", label="Model name")
    alias = django_filters.CharFilter(method="holding_alias", label="Holds alias now")
    status = django_filters.CharFilter(field_name="status", lookup_expr="iexact", label="Status")
    stage = django_filters.CharFilter(field_name="stage", lookup_expr="iexact", label="Stage (legacy)")
    approval = django_filters.CharFilter(field_name="approval", lookup_expr="iexact", label="Approval status")

    class Meta:
        model = ModelVersion
        fields = ["project", "registry", "model", "alias", "status", "stage", "approval", "deleted"]

    def holding_alias(self, queryset, name, value):
        holding = DeploymentObservation.objects.filter(signal=Signal.ALIAS, name=value, observed_until__isnull=True)
        return queryset.filter(pk__in=holding.values("version_id"))


class DeploymentFilterSet(django_filters.FilterSet):
    """/api/v1/deployments/: what held each alias, stage or approval at `at` (absent: now)."""

    at = InstantFilter(method="keep", label="At (ISO 8601)", error_messages={"invalid": AT_INVALID})
    project = django_filters.ModelChoiceFilter(
        queryset=visible_projects, to_field_name="slug", field_name="registered_model__project", label="Project"
    )
    registry = django_filters.ModelChoiceFilter(
        queryset=Registry.objects.all(), field_name="registered_model__registry", label="Registry"
    )
    model = django_filters.CharFilter(field_name="registered_model__name", label="Model name")
    signal = django_filters.ChoiceFilter(choices=Signal.choices, label="Signal")
    name = django_filters.CharFilter(field_name="name", label="Alias, stage or approval status")

    class Meta:
        model = DeploymentObservation
        fields = ["at", "project", "registry", "model", "signal", "name"]

    def keep(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also runs when `at` is absent

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        at = self.form.cleaned_data.get("at")
        if at is None:
            return queryset.filter(observed_until__isnull=True)
        return queryset.filter(held_at(at))


class RegistryModelFilterSet(_LiveByDefault):
    """The models table of a registry's page (/projects/registries/<pk>/), its CSV and its XLSX."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Model name")
    linked = django_filters.ChoiceFilter(choices=YES_NO, method="is_linked", label="Linked to a project")
    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")

    class Meta:
        model = RegisteredModel
        fields = ["q", "linked", "project", "deleted"]

    def is_linked(self, queryset, name, value):
        return queryset.filter(project__isnull=value != "true")
