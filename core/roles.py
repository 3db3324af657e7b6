"""The personas as Django groups (created by core's data migration), and how to ask for them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import connection, models


class Role(models.TextChoices):
    EXECUTIVE = "Executive", "Executive"
    RISK_OFFICER = "Risk Officer", "Risk officer"
    TEAM_LEAD = "Team Lead", "Team lead"
    ADMIN = "Admin", "Admin"
    # The second, independent reviewer that high-risk sign-offs need (data protection / compliance).
    COMPLIANCE = "Compliance Officer", "Compliance officer / DPO"


# Every persona that may sign in and read (each page or endpoint still scopes what it shows).
ALL_ROLES: tuple[str, ...] = tuple(Role.values)


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The roles a user holds; a superuser counts as Admin. Cached on the user object per request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_keel_roles", None)
    if cached is None:
        cached = remember_roles(user, _group_names(user.pk))
    return cached


def remember_roles(user, group_names: set[str]) -> frozenset[str]:
    """The roles these group names of `user` give (a superuser counts as Admin), cached on the user object
    for user_roles(): for a read that fetched the user's groups with the user itself (the API token's)."""
    names = set(group_names) & set(Role.values)
    if user.is_superuser:
        names.add(Role.ADMIN)
    user._keel_roles = frozenset(names)
    return user._keel_roles


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_admin(user) -> bool:
    return has_role(user, Role.ADMIN)


def reads_everything(user) -> bool:
    """Executives, risk and compliance officers and admins see the whole portfolio."""
    return has_role(user, Role.EXECUTIVE, Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)


def _group_names(user_id: int) -> set[str]:
    """The names of the user's groups. Plain SQL: every request asks once, and building this join through
    the ORM cost more than the database's answer (an index lookup)."""
    members = Group.user_set.through._meta.db_table
    quote = connection.ops.quote_name
    sql = (
        f"SELECT g.{quote('name')} FROM {quote(Group._meta.db_table)} g "  # noqa: S608 - names from the models
        f"INNER JOIN {quote(members)} m ON m.{quote('group_id')} = g.{quote('id')} WHERE m.{quote('user_id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        return {name for (name,) in cursor.fetchall()}
