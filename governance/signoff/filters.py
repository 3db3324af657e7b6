"""The FilterSets of the sign-off list and of the sign-off policies' history."""

from __future__ import annotations

import django_filters

from core.forms import checkboxes
from projects.inventory.filters import visible_projects
from projects.models import RiskTier

from ..models import SignOffPolicy, SignOffRequest, SignOffStatus


class SignOffFilterSet(django_filters.FilterSet):
    """The sign-off page's list of every request in scope: by status, project and tier (the tier of
    the policy the request was made under)."""

    status = django_filters.MultipleChoiceFilter(choices=SignOffStatus.choices, label="Status", widget=checkboxes())
    project = django_filters.ModelChoiceFilter(
        queryset=visible_projects, to_field_name="slug", label="Project", empty_label="Any"
    )
    tier = django_filters.MultipleChoiceFilter(
        field_name="policy__tier", choices=RiskTier.choices, label="Tier", widget=checkboxes()
    )

    class Meta:
        model = SignOffRequest
        fields = ["status", "project", "tier"]


class SignOffPolicyFilterSet(django_filters.FilterSet):
    """The policies page's history: every published version, of one tier when asked (an unknown tier is
    the form's error and no rows, as on every list)."""

    tier = django_filters.ChoiceFilter(choices=RiskTier.choices, label="Tier", empty_label="All tiers")

    class Meta:
        model = SignOffPolicy
        fields = ["tier"]
