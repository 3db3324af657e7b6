"""Who takes part in a sign-off, by role: the one place the page, the API and the services read it.

REVIEWER_ROLES itself stays with the models, whose field choices need it; this module names the
sets the HTTP layers gate on, so that a new reviewer role is added in one line, not three files.
"""

from __future__ import annotations

from core.roles import Role

from ..models.signoff import REVIEWER_ROLES

# Who may ask for a sign-off (and withdraw one): the project's team lead, or an admin.
REQUESTERS = (Role.TEAM_LEAD, Role.ADMIN)
# Who may be asked to review: the roles a policy can require.
REVIEWERS = tuple(REVIEWER_ROLES)
# Who may publish a new version of a sign-off policy (the page, the API and the service).
POLICY_PUBLISHERS = (Role.RISK_OFFICER, Role.ADMIN)
