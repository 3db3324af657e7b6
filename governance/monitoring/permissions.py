"""Who may post signals and change a project's monitoring plan: whoever may change the project (admins, and
team leads of its team). One rule for the webhook, the lineage hook's callers and the page."""

from __future__ import annotations

from core.roles import Role
from projects.permissions import can_change_project

# The roles the webhook admits at all (the object rule below then decides per version).
SIGNAL_POST_ROLES = (Role.ADMIN, Role.TEAM_LEAD)


def can_monitor(user, project) -> bool:
    return project is not None and can_change_project(user, project)
