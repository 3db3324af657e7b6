"""One FilterSet per list, shared by the HTML page and the API (as NetBox does)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import (
    AIProject,
    DeploymentObservation,
    FxRate,
    Health,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryKind,
    RiskTier,
    RoiBasis,
    RoiCategory,
    ROIEntry,
    RoiKind,
    Signal,
    Stage,
    Team,
)
from .roi_import import month_from_cell
from .selectors import held_at, projects_for_user, teams_for_user

AT_INVALID = "Give `at` as an ISO 8601 date and time, e.g. 2025-11-03T09:00:00Z."
DELETED_CHOICES = [("false", "Still in the registry"), ("true", "Include deleted")]
YES_NO = [("true", "Yes"), ("false", "No")]


def visible_teams(request):
    """The team filter offers only the teams the caller may see, so a team lead's list names no other team."""
    if request is None:
        return Team.objects.none()
    return teams_for_user(user=request.user).order_by("name")


def visible_owners(request):
    """The owner filter names only people who own a project the caller may see (no user directory leak)."""
    User = get_user_model()
    if request is None:
        return User.objects.none()
    owner_ids = projects_for_user(user=request.user).order_by().values("owner_id")
    return User.objects.filter(pk__in=owner_ids).order_by("username")


def visible_projects(request):
    """The project filter accepts only projects the caller may see: another team's slug is a 400, not a leak."""
    if request is None:
        return AIProject.objects.none()
    return projects_for_user(user=request.user).order_by("name")


class AIProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(queryset=visible_teams, to_field_name="slug", label="Team")
    stage = django_filters.MultipleChoiceFilter(
        choices=Stage.choices, label="Stage", widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"})
    )
    health = django_filters.ChoiceFilter(choices=Health.choices, label="Health")
    tier = django_filters.MultipleChoiceFilter(
        field_name="risk_tier",
        choices=RiskTier.choices,
        label="EU AI Act tier",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
    )
    owner = django_filters.ModelChoiceFilter(queryset=visible_owners, to_field_name="username", label="Owner")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("team__name", "team"),
            ("stage", "stage"),
            ("health", "health"),
            ("expected_annual_value", "value"),
            ("updated_at", "updated"),
        ),
        label="Sort by",
    )

    class Meta:
        model = AIProject
        fields = ["q", "team", "stage", "health", "tier", "owner"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Q(purpose__icontains=value))

    @property
    def qs(self):
        # A stable order for pagination when the caller asked for none (ties broken by id).
        qs = super().qs
        if not self.data.get("ordering"):
            qs = qs.order_by("name", "id")
        return qs


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")

    class Meta:
        model = Team
        fields = ["q"]


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

    at = django_filters.IsoDateTimeFilter(method="keep", label="At (ISO 8601)", error_messages={"invalid": AT_INVALID})
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


MONTH_INVALID = "Give the month as YYYY-MM, e.g. 2026-11."


class _MonthFormField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        month = month_from_cell(value)
        if month is None:
            raise forms.ValidationError(MONTH_INVALID, code="invalid")
        return month


class _MonthFilter(django_filters.Filter):
    """A month as YYYY-MM (or YYYY-MM-01), compared with the entries' first-of-month dates."""

    field_class = _MonthFormField


class ROIEntryFilterSet(django_filters.FilterSet):
    """Shared by /api/v1/roi-entries/ (and any page that lists ROI entries)."""

    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    month_from = _MonthFilter(field_name="month", lookup_expr="gte", label="From month (YYYY-MM)")
    month_to = _MonthFilter(field_name="month", lookup_expr="lte", label="To month (YYYY-MM)")
    kind = django_filters.ChoiceFilter(choices=RoiKind.choices, label="Kind")
    category = django_filters.ChoiceFilter(choices=RoiCategory.choices, label="Category")
    basis = django_filters.ChoiceFilter(choices=RoiBasis.choices, label="Basis")

    class Meta:
        model = ROIEntry
        fields = ["project", "month_from", "month_to", "kind", "category", "basis"]


class FxRateFilterSet(django_filters.FilterSet):
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact", label="Currency")
    month_from = _MonthFilter(field_name="month", lookup_expr="gte", label="From month (YYYY-MM)")
    month_to = _MonthFilter(field_name="month", lookup_expr="lte", label="To month (YYYY-MM)")

    class Meta:
        model = FxRate
        fields = ["currency", "month_from", "month_to"]
