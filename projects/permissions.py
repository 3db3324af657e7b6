"""Who may read and write what in projects (and, through `scope_to_user`, in governance)."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from core.roles import Role, has_role, is_admin, reads_everything

from .models import AIProject, Team


def user_team_ids(user) -> set[int]:
    """Teams a user leads or belongs to (cached per request on the user object)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_keel_team_ids", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute(_team_ids_sql(), [user.pk, user.pk])
            cached = {pk for (pk,) in cursor.fetchall()}
        user._keel_team_ids = cached
    return cached


def _team_ids_sql() -> str:
    """The teams a user leads, and those they belong to: one plain query, asked by every list a team lead
    reads. Through the ORM it was two, which cost ~0.7 ms of a 50-row page to build (issue #15), where
    the database answers from two indexes in a few microseconds."""
    quote = connection.ops.quote_name
    members = Team.members.through._meta
    return (
        f"SELECT {quote(Team._meta.pk.column)} FROM {quote(Team._meta.db_table)} "  # noqa: S608 - names from the models
        f"WHERE {quote(Team._meta.get_field('lead').column)} = %s "
        f"UNION SELECT {quote(members.get_field('team').column)} FROM {quote(members.db_table)} "
        f"WHERE {quote(members.get_field('user').column)} = %s"
    )


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
