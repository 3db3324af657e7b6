"""ROI ledger and FX rate FilterSets, shared by the HTML pages and the API."""

from __future__ import annotations

import django_filters
from django import forms

from ..inventory.filters import visible_projects
from ..models import (
    FxRate,
    RoiBasis,
    RoiCategory,
    ROIEntry,
    RoiKind,
)
from .forms import MonthField

MONTH_INVALID = "Give the month as YYYY-MM, e.g. 2026-11."


class _MonthFormField(MonthField):
    """The ROI forms' month field, as a filter shows it: a plain text box, with the filter's message."""

    widget = forms.TextInput
    default_error_messages = {"invalid": MONTH_INVALID}
    default_validators = []  # asking about any month is harmless; only a month that is stored is bounded


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
