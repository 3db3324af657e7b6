"""Reads for pages and the API, always scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from core.roles import Role, has_role, reads_everything

from .models import AIProject, Stage, Team
from .permissions import user_team_ids


def projects_for_user(*, user) -> QuerySet[AIProject]:
    """Executives, risk officers and admins see all projects; team leads their teams'; others none."""
    qs = AIProject.objects.select_related("team", "owner", "executive_sponsor")
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(team_id__in=user_team_ids(user))
    return qs.none()


def teams_for_user(*, user) -> QuerySet[Team]:
    qs = Team.objects.select_related("lead").annotate(project_count=Count("projects"))
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(pk__in=user_team_ids(user))
    return qs.none()


def project_stage_counts(*, user) -> list[dict]:
    """One row per lifecycle stage, in lifecycle order, counted in the database."""
    counts = dict(
        projects_for_user(user=user).order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    return [{"stage": value, "label": label, "count": counts.get(value, 0)} for value, label in Stage.choices]
