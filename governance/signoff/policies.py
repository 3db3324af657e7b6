"""The default sign-off policies: which roles must approve a model version of each EU AI Act tier.

This is the answer to "which roles may approve a high-risk sign-off?". The data migration
0007_signoff_policies_and_triggers creates version 1 of each tier from DEFAULT_POLICIES, and the
demo seed picks its approvers from it. Admins publish later versions through
`governance.signoff.services.signoff_policy_publish` (or POST /api/v1/signoff-policies/); a
published version never changes, so editing this table changes only databases migrated afresh.

Plain data on purpose: a migration imports it, so it must not depend on models.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.roles import Role


@dataclass(frozen=True)
class DefaultPolicy:
    """Version 1 of one tier's policy, as the data migration creates it."""

    tier: str
    # Each role must be filled by a different person.
    required_roles: tuple[str, ...]
    # Distinct people who must approve (at least one per required role).
    min_approvers: int
    # An approval expires after this many days; None: it does not expire.
    recertify_days: int | None
    # False for a tier that can never be approved.
    approvable: bool
    note: str


RISK_OFFICER = Role.RISK_OFFICER.value
COMPLIANCE_OFFICER = Role.COMPLIANCE.value

MINIMAL = DefaultPolicy(
    tier="minimal", required_roles=(RISK_OFFICER,), min_approvers=1, recertify_days=None, approvable=True,
    note="Default: one risk officer.",
)  # fmt: skip
LIMITED = DefaultPolicy(
    tier="limited", required_roles=(RISK_OFFICER,), min_approvers=1, recertify_days=None, approvable=True,
    note="Default: one risk officer.",
)  # fmt: skip
# High risk: a risk officer and a distinct compliance officer / DPO, re-certified yearly.
HIGH = DefaultPolicy(
    tier="high", required_roles=(RISK_OFFICER, COMPLIANCE_OFFICER), min_approvers=2, recertify_days=365,
    approvable=True, note="Default: a risk officer and a distinct compliance officer / DPO; re-certified yearly.",
)  # fmt: skip
# Prohibited (EU AI Act Art. 5): no role can approve it.
PROHIBITED = DefaultPolicy(
    tier="prohibited", required_roles=(), min_approvers=1, recertify_days=None, approvable=False,
    note="A prohibited system can never be approved (EU AI Act Art. 5).",
)  # fmt: skip

DEFAULT_POLICIES: dict[str, DefaultPolicy] = {p.tier: p for p in (MINIMAL, LIMITED, HIGH, PROHIBITED)}
