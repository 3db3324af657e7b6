"""The findings' FilterSet, shared by the findings page and /api/v1/findings/."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from core.forms import checkboxes
from projects.inventory.filters import visible_projects

from ..models import Finding, FindingKind, Severity
from .selectors import findings_for_user


def visible_assignees(request):
    """The assignee filter names only people assigned to a finding the caller may see."""
    User = get_user_model()
    if request is None:
        return User.objects.none()
    assignee_ids = findings_for_user(user=request.user).order_by().values("assignee_id")
    return User.objects.filter(pk__in=assignee_ids).order_by("username")


class FindingFilterSet(django_filters.FilterSet):
    """Shared by the findings page and /api/v1/findings/."""

    kind = django_filters.ChoiceFilter(choices=FindingKind.choices, label="Kind", empty_label="Any")
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label="Severity", widget=checkboxes())
    open = django_filters.BooleanFilter(
        field_name="resolved_at",
        lookup_expr="isnull",
        label="Status",
        widget=forms.Select(choices=[("", "Any"), ("true", "Open"), ("false", "Resolved")]),
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label="Due date",
        widget=forms.Select(choices=[("", "Any"), ("true", "Overdue"), ("false", "Not overdue")]),
    )
    project = django_filters.ModelChoiceFilter(
        queryset=visible_projects, to_field_name="slug", label="Project", empty_label="Any"
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=visible_assignees,
        to_field_name="username",
        label="Assignee",
        empty_label="Anyone",
    )

    class Meta:
        model = Finding
        fields = ["kind", "severity", "open", "overdue", "project", "assignee"]

    def filter_overdue(self, queryset, name, value):
        """Overdue: open and past its due date. A finding without a due date is never called overdue."""
        overdue = Q(resolved_at__isnull=True, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
