"""Project and team FilterSets, shared by the HTML pages and the API (as NetBox does)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from ..models import (
    AIProject,
    Health,
    RiskTier,
    Stage,
    Team,
)
from ..permissions import scope_to_user
from .selectors import projects_for_user


def visible_teams(request):
    """The team filter offers only the teams the caller may see, so a team lead's list names no other team."""
    if request is None:
        return Team.objects.none()
    # Not teams_for_user: its project count per team is a scan of every project that a choice list never shows.
    return scope_to_user(Team.objects.all(), user=request.user, team_id="pk").order_by("name")


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


# A project whose tier assessment is missing or incomplete has risk_tier "" (RiskTier's "not assessed"); the
# tier filters offer it as a choice of its own, so "which projects are not assessed?" has an answer.
NOT_ASSESSED = "not_assessed"
TIER_FILTER_CHOICES = [*RiskTier.choices, (NOT_ASSESSED, "Not assessed")]


class TierFilter(django_filters.MultipleChoiceFilter):
    """The EU AI Act tier, any of the chosen ones; "not_assessed" stands for the empty tier."""

    def __init__(self, **kwargs):
        kwargs.setdefault("field_name", "risk_tier")
        kwargs.setdefault("label", "EU AI Act tier")
        super().__init__(choices=TIER_FILTER_CHOICES, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": ["" if v == NOT_ASSESSED else v for v in value]})


class AIProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(queryset=visible_teams, to_field_name="slug", label="Team")
    stage = django_filters.MultipleChoiceFilter(
        choices=Stage.choices, label="Stage", widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"})
    )
    health = django_filters.ChoiceFilter(choices=Health.choices, label="Health")
    tier = TierFilter(widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}))
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
