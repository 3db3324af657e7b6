"""Who may write the risk register and assess tiers. Reads are scoped in selectors."""

from __future__ import annotations

from core.roles import Role, has_role, is_admin
from projects.permissions import can_change_project

from .scoring import ACCEPTANCE_NEEDS_RISK_OFFICER

# The roles that may reach the risk register's write pages and endpoints at all; can_edit_risks then
# decides per project.
RISK_WRITERS = (Role.TEAM_LEAD, Role.RISK_OFFICER, Role.ADMIN)


def can_edit_risks(user, project) -> bool:
    """Risk officers and admins edit every register; team leads their own teams' projects'."""
    if is_admin(user) or has_role(user, Role.RISK_OFFICER):
        return True
    return can_change_project(user, project)


def can_assess_tier(user, project) -> bool:
    return can_edit_risks(user, project)


def can_accept_residual(user, residual_level: str) -> bool:
    """Only a risk officer accepts a high or critical residual risk (an admin role alone is not enough)."""
    if residual_level in ACCEPTANCE_NEEDS_RISK_OFFICER:
        return has_role(user, Role.RISK_OFFICER)
    return True
