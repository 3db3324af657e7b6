"""Who may read and write what in projects (and, through `scope_to_user`, in governance)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.roles import Role, has_role, is_admin, reads_everything

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


def scope_to_user(qs: QuerySet, *, user, team_id: str = "team_id") -> QuerySet:
    """The visibility ladder every list follows: readers of everything see all rows; team leads the rows of
    their teams (`team_id` is the lookup from the row to its team's id, e.g. "project__team_id", or "pk" for
    teams); anyone else nothing. Rows with no team (a finding without a project) are thus only for readers
    of everything."""
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        return qs.filter(**{f"{team_id}__in": user_team_ids(user)})
    return qs.none()


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
