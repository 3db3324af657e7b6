"""Who may do what with incidents: one home for the rule, imported by the pages, the API and the services.

Risk officers, compliance officers and admins manage incidents (assess seriousness, record the report to
the authority, close). A team lead opens incidents on their teams' projects and keeps those incidents'
timeline and corrective actions current. Executives read.
"""

from __future__ import annotations

from core.roles import Role, has_role
from projects.permissions import user_team_ids

INCIDENT_MANAGERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)
INCIDENT_OPENERS = (*INCIDENT_MANAGERS, Role.TEAM_LEAD)


def can_manage_incidents(user) -> bool:
    return has_role(user, *INCIDENT_MANAGERS)


def can_open_incident_on(user, projects) -> bool:
    """Managers on any project; a team lead only on projects of their own teams (all of them)."""
    if can_manage_incidents(user):
        return True
    teams = user_team_ids(user)
    return has_role(user, Role.TEAM_LEAD) and all(p.team_id in teams for p in projects)


def can_work_on_incident(user, incident) -> bool:
    """Add to the timeline and the corrective actions: managers, and team leads of an affected project."""
    if can_manage_incidents(user):
        return True
    teams = user_team_ids(user)
    return has_role(user, Role.TEAM_LEAD) and any(p.team_id in teams for p in incident.projects.all())
