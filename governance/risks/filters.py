"""The risk register's FilterSets, each shared by a page and the API (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from core.forms import checkboxes
from core.ids import IdFilter
from projects.inventory.filters import TierFilter, visible_projects, visible_teams
from projects.models import RiskTier

from ..models import Mitigation, MitigationStatus, Risk, RiskCategory, RiskStatus, RiskTierAssessment
from .scoring import SCALE, Level

SCALE_CHOICES = [(n, str(n)) for n in SCALE]

_ANY_YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


class RiskFilterSet(django_filters.FilterSet):
    """Shared by the risk pages and /api/v1/risks/. `level` is the residual level; likelihood and impact
    (inherent or residual) pick one heat-map cell."""

    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(
        field_name="project__team", queryset=visible_teams, to_field_name="slug", label="Team"
    )
    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    tier = TierFilter(field_name="project__risk_tier", label="Tier", widget=checkboxes())
    category = django_filters.MultipleChoiceFilter(choices=RiskCategory.choices, label="Category", widget=checkboxes())
    level = django_filters.MultipleChoiceFilter(
        field_name="residual_level", choices=Level.choices, label="Residual level", widget=checkboxes()
    )
    status = django_filters.MultipleChoiceFilter(choices=RiskStatus.choices, label="Status", widget=checkboxes())
    overdue = django_filters.BooleanFilter(
        field_name="review_overdue", label="Review overdue", widget=forms.Select(choices=_ANY_YES_NO)
    )
    likelihood = django_filters.ChoiceFilter(choices=SCALE_CHOICES, label="Inherent likelihood")
    impact = django_filters.ChoiceFilter(choices=SCALE_CHOICES, label="Inherent impact")
    residual_likelihood = django_filters.ChoiceFilter(choices=SCALE_CHOICES, label="Residual likelihood")
    residual_impact = django_filters.ChoiceFilter(choices=SCALE_CHOICES, label="Residual impact")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("residual_score", "residual"),
            ("inherent_score", "inherent"),
            ("next_review_date", "review"),
            ("title", "title"),
            ("updated_at", "updated"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Risk
        fields = [
            "q", "team", "project", "tier", "category", "level", "status", "overdue", "likelihood", "impact",
            "residual_likelihood", "residual_impact",
        ]  # fmt: skip

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    @property
    def qs(self):
        # Ties broken by id, so pages never repeat or skip a risk.
        qs = super().qs
        if not self.data.get("ordering"):
            qs = qs.order_by("-residual_score", "title", "id")
        return qs


class MitigationFilterSet(django_filters.FilterSet):
    """/api/v1/mitigations/: the mitigations of one risk, or by status."""

    risk = IdFilter(field_name="risk_id", label="Risk id")
    status = django_filters.MultipleChoiceFilter(choices=MitigationStatus.choices, label="Status")

    class Meta:
        model = Mitigation
        fields = ["risk", "status"]


class RiskTierAssessmentFilterSet(django_filters.FilterSet):
    """/api/v1/risk-assessments/: one project's versions, a tier, or only each project's current version."""

    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices, label="Tier")
    current = django_filters.BooleanFilter(field_name="is_current", label="Current version only")

    class Meta:
        model = RiskTierAssessment
        fields = ["project", "tier", "current"]
