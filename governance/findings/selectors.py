"""Reads of findings: scoped like risks, worst and newest first."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from core.roles import Role
from projects.permissions import scope_to_user

from ..models import Finding, Severity


def finding_assignees() -> QuerySet:
    """Who a finding can be assigned to: active users holding a role."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=Role.values).distinct().order_by("username")


# Worst first; the order findings are worked in.
SEVERITY_RANK = Case(
    *(When(severity=s, then=Value(rank)) for rank, s in enumerate(reversed(Severity.values))),
    default=Value(len(Severity.values)),
    output_field=IntegerField(),
)


def findings_for_user(*, user) -> QuerySet[Finding]:
    """Scoped like risks (a finding without a project only for readers of everything); open ones first,
    worst first, newest first. Explicit, because NULLs sort last on PostgreSQL and first on SQLite."""
    qs = Finding.objects.select_related("project__team", "assignee").order_by(
        F("resolved_at").desc(nulls_first=True), SEVERITY_RANK, "-opened_at", "-id"
    )
    return scope_to_user(qs, user=user, team_id="project__team_id")


def open_findings_assigned_to(*, user) -> QuerySet[Finding]:
    """The open findings assigned to `user` that they may see, worst first, oldest due first."""
    return (
        findings_for_user(user=user)
        .filter(assignee=user, resolved_at__isnull=True)
        .order_by(SEVERITY_RANK, F("due_at").asc(nulls_last=True), "-opened_at", "-id")
    )
