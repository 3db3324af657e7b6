"""The dashboard's filters and the projects they pick: every figure of the page and of
/api/v1/portfolio/summary is computed over that set."""

from __future__ import annotations

import django_filters

from core.forms import checkboxes
from projects.inventory.filters import visible_teams
from projects.inventory.selectors import projects_for_user
from projects.models import AIProject, RiskTier, Stage


class PortfolioFilterSet(django_filters.FilterSet):
    """The dashboard's filters, shared by the page and /api/v1/portfolio/summary (team by slug, stages and
    tiers repeated). A team lead is offered, and may name, only their own teams."""

    team = django_filters.ModelChoiceFilter(
        queryset=visible_teams, to_field_name="slug", label="Team", empty_label="All teams"
    )
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, label="Stage", widget=checkboxes())
    tier = django_filters.MultipleChoiceFilter(
        field_name="risk_tier", choices=RiskTier.choices, label="EU AI Act tier", widget=checkboxes()
    )

    class Meta:
        model = AIProject
        fields = ["team", "stage", "tier"]


def dashboard_filterset(*, data, request) -> PortfolioFilterSet:
    """The filters as given (a QueryDict; None or empty: none). `request.user` scopes the team choices;
    parameters the filters do not know (page, export) are ignored."""
    return PortfolioFilterSet(data or None, queryset=projects_for_user(user=request.user), request=request)


def is_filtered(filterset: PortfolioFilterSet) -> bool:
    """Whether a filter narrows the portfolio (an invalid filter does: it shows nothing)."""
    if not filterset.is_bound:
        return False
    if not filterset.is_valid():
        return True
    return any(filterset.form.cleaned_data.get(name) for name in PortfolioFilterSet.base_filters)
