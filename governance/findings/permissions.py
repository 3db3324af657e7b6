"""Who may manage findings (assign, resolve by hand): one role set, imported by the page, the API and
the services."""

from __future__ import annotations

from core.roles import Role, has_role

FINDING_MANAGERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)


def can_manage_findings(user) -> bool:
    return has_role(user, *FINDING_MANAGERS)
