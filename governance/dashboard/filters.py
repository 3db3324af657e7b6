"""The dashboard's filters and the projects they pick: every figure of the page and of
/api/v1/portfolio/summary is computed over that set."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone

from core.dates import date_window
from core.forms import checkboxes
from projects.inventory.filters import TierFilter, visible_teams
from projects.inventory.selectors import projects_for_user
from projects.models import AIProject, Stage
from projects.roi.forms import MonthField

AS_OF_IN_FUTURE = "Choose a month no later than this one ({month}): the figures cannot run past today."
AS_OF_TOO_EARLY = "Choose a month from {first} on."


class AsOfField(MonthField):
    """The month the dashboard's figures run to (YYYY-MM): a past month, or this month to date, no earlier
    than the first month Keel accepts anywhere (core.dates)."""

    default_validators = []  # validate() below says it in the dashboard's own words

    def validate(self, value):
        super().validate(value)
        this_month = timezone.localdate().replace(day=1)
        if value and value > this_month:
            raise forms.ValidationError(AS_OF_IN_FUTURE.format(month=f"{this_month:%Y-%m}"), code="future")
        first = date_window()[0]
        if value and value < first:
            raise forms.ValidationError(AS_OF_TOO_EARLY.format(first=f"{first:%Y-%m}"), code="too_early")


class AsOfFilter(django_filters.Filter):
    """Not a filter of the projects: the month every figure of the page runs to (see dashboard/to_date.py)."""

    field_class = AsOfField

    def filter(self, qs, value):
        return qs


class PortfolioFilterSet(django_filters.FilterSet):
    """The dashboard's filters, shared by the page and /api/v1/portfolio/summary (team by slug, stages and
    tiers repeated). A team lead is offered, and may name, only their own teams."""

    team = django_filters.ModelChoiceFilter(
        queryset=visible_teams, to_field_name="slug", label="Team", empty_label="All teams"
    )
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, label="Stage", widget=checkboxes())
    tier = TierFilter(widget=checkboxes())
    as_of = AsOfFilter(label="As of (month)", help_text="YYYY-MM; this month to date when empty.")

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
    return any(filterset.form.cleaned_data.get(name) for name in PortfolioFilterSet.base_filters if name != "as_of")


def whole_teams(filterset: PortfolioFilterSet) -> bool:
    """Whether the filtered projects are whole teams (no stage or tier filter narrows them within a team), so
    the figures can be read from the per-team roll-up (dashboard/selectors.py)."""
    if not filterset.is_bound:
        return True
    if not filterset.is_valid():
        return False
    return not filterset.form.cleaned_data.get("stage") and not filterset.form.cleaned_data.get("tier")


def as_of_of(filterset: PortfolioFilterSet) -> dt.date | None:
    """The month chosen with ?as_of= (None: this month to date, or the filters are invalid)."""
    if not filterset.is_bound or not filterset.is_valid():
        return None
    return filterset.form.cleaned_data.get("as_of")
