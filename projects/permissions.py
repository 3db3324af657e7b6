"""Who may write what in projects. Reads are scoped in selectors (projects_for_user, teams_for_user)."""

from __future__ import annotations

from core.roles import Role, has_role, is_admin

from .models import AIProject, Team


def user_team_ids(user) -> set[int]:
    """Teams a user leads or belongs to (cached per request on the user object)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_keel_team_ids", None)
    if cached is None:
        cached = set(Team.objects.filter(lead=user).values_list("pk", flat=True))
        cached |= set(user.teams.values_list("pk", flat=True))
        user._keel_team_ids = cached
    return cached


def can_create_project_in(user, team: Team) -> bool:
    if is_admin(user):
        return True
    return has_role(user, Role.TEAM_LEAD) and team.pk in user_team_ids(user)


def can_change_project(user, project: AIProject) -> bool:
    if is_admin(user):
        return True
    return has_role(user, Role.TEAM_LEAD) and project.team_id in user_team_ids(user)


def can_manage_teams(user) -> bool:
    return is_admin(user)
