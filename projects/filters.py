"""One FilterSet per list, shared by the HTML page and the API (as NetBox does)."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import AIProject, Health, Stage, Team
from .selectors import teams_for_user


def visible_teams(request):
    """The team filter offers only the teams the caller may see, so a team lead's list names no other team."""
    if request is None:
        return Team.objects.none()
    return teams_for_user(user=request.user).order_by("name")


class AIProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(queryset=visible_teams, to_field_name="slug", label="Team")
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, label="Stage")
    health = django_filters.ChoiceFilter(choices=Health.choices, label="Health")
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(), to_field_name="username", label="Owner"
    )
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
        fields = ["q", "team", "stage", "health", "owner"]

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
