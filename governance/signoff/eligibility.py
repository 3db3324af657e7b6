"""May this person decide this sign-off request, in which role, and if not, why not?

One pure function answers for the request page (whether to offer the decision form, and the note
that says why not), the API (which roles are still missing) and the decision service (which refuses
with its own errors and messages). It reads only what it is given — the request's status, policy,
requester and version author, the decisions recorded so far, the user's id and roles — and makes no
query, so the three callers cannot drift apart and a table of cases tests every rule.

The rules, in the order they are checked (the first that applies is the reason):

1. a request that is no longer pending takes no decision;
2. separation of duties: the requester never decides, nor does the version's author in the registry;
3. the user must hold a role the request's policy asks for;
4. one person fills one role: someone who approved or rejected already decides no more;
5. a role named explicitly must be asked for by the policy, and held by the user;
6. an approval needs a role of the user's that nobody has approved in yet, or an extra approver's place.

Extra approvers: a request needs `approvers_needed` distinct approvers — the policy's minimum, plus one
when the version's author is unknown (nobody can be excluded as its author, so one more pair of eyes
stands in for that check). Places beyond one per required role are filled by any reviewer, in any
reviewer role they hold, once the roles they hold are filled.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..models.signoff import REVIEWER_ROLES, SignOffStatus, Verdict


class Refusal(enum.StrEnum):
    """Why a user may not decide (rule numbers as in the module docstring)."""

    NOT_PENDING = "not_pending"  # 1
    REQUESTER = "requester"  # 2
    AUTHOR = "author"  # 2
    NOT_A_REVIEWER = "not_a_reviewer"  # 3
    ALREADY_DECIDED = "already_decided"  # 4
    ROLE_NOT_REQUIRED = "role_not_required"  # 5
    ROLE_NOT_HELD = "role_not_held"  # 5
    ROLE_FILLED = "role_filled"  # 6


class DecisionLike(Protocol):
    reviewer_id: Any
    role: str
    verdict: str


@dataclass(frozen=True)
class Eligibility:
    """The answer for one user and one request."""

    refusal: Refusal | None
    # The policy's roles this user holds, in the policy's order (the roles the page offers).
    held: list[str]
    # The policy's roles nobody has approved in yet.
    missing: list[str]
    # Whether the user holds any reviewer role at all (the page explains nothing to non-reviewers).
    is_reviewer: bool
    # The role the decision is recorded in; None when refused.
    role: str | None = None
    # ALREADY_DECIDED: the user's own earlier approval or rejection.
    earlier: Any = None
    # ROLE_FILLED: the approval that already fills the role asked for.
    filled: Any = None

    @property
    def may_decide(self) -> bool:
        return self.refusal is None


def missing_roles(required_roles: Sequence[str], decisions: Iterable[DecisionLike]) -> list[str]:
    """Required roles nobody has approved in yet, in the policy's order."""
    approved = {d.role for d in decisions if d.verdict == Verdict.APPROVE}
    return [r for r in required_roles if r not in approved]


def approvers_needed(request) -> int:
    """Distinct approvers the request needs: the policy's minimum, one more when the author is unknown."""
    least = getattr(request.policy, "min_approvers", 1)  # the page and tests may pass a bare policy
    return least + (1 if getattr(request, "author_unknown", False) else 0)


def extra_places_open(request, decisions: Iterable[DecisionLike]) -> int:
    """Approvals still needed beyond one per required role (see "Extra approvers" above)."""
    required = list(request.policy.required_roles)
    approvals = [d for d in decisions if d.verdict == Verdict.APPROVE]
    filled_roles = {d.role for d in approvals if d.role in required}
    extras_used = len(approvals) - len(filled_roles)
    return max(0, approvers_needed(request) - len(required) - extras_used)


def approvals_outstanding(request, decisions: Sequence[DecisionLike]) -> list[str]:
    """What a pending request still waits for, in words: its missing roles, then its extra places."""
    extras = extra_places_open(request, decisions)
    waiting = missing_roles(request.policy.required_roles, decisions)
    if extras:
        why = " (the version's author is unknown)" if getattr(request, "author_unknown", False) else ""
        waiting.append(f"{extras} more distinct approver{'s' if extras > 1 else ''}{why}")
    return waiting


def decision_eligibility(
    *,
    request,
    user_id,
    roles: Collection[str],
    decisions: Sequence[DecisionLike],
    verdict: str | None = None,
    role: str | None = None,
) -> Eligibility:
    """Whether the user (`user_id`, holding `roles`) may record `verdict` on `request` in `role`.

    `request` needs `status`, `policy.required_roles`, `policy.min_approvers`, `requested_by_id`,
    `version_author_id` and (optionally) `author_unknown`;
    `decisions` are its recorded decisions, oldest first. Without a verdict the answer is whether
    the user may decide at all (the page); rule 6 applies to approvals only, since a rejection or a
    request for changes fills no role.
    """
    required = list(request.policy.required_roles)
    extras = extra_places_open(request, decisions)
    # The roles this user may decide in: the required ones they hold, and while extra places are open,
    # any other reviewer role they hold.
    held = [r for r in required if r in roles]
    if extras:
        held += [str(r) for r in REVIEWER_ROLES if r in roles and r not in held]
    missing = missing_roles(required, decisions)
    facts = {"held": held, "missing": missing, "is_reviewer": any(r in roles for r in REVIEWER_ROLES)}
    refusal, earlier = _who_refusal(request, user_id=user_id, held=held, decisions=decisions)
    if refusal is None and role is not None:
        allowed = required + ([str(r) for r in REVIEWER_ROLES] if extras else [])
        refusal = _role_refusal(role, required=allowed, held=held)
    if refusal is not None:
        return Eligibility(refusal=refusal, earlier=earlier, **facts)
    if verdict != Verdict.APPROVE:
        return Eligibility(refusal=None, role=role or held[0], **facts)
    open_roles = [r for r in ([role] if role else held) if r in missing]
    if open_roles:
        return Eligibility(refusal=None, role=open_roles[0], **facts)
    if extras:
        return Eligibility(refusal=None, role=role or held[0], **facts)
    approvals = {d.role: d for d in decisions if d.verdict == Verdict.APPROVE}
    filled = approvals.get(role or held[0]) or next(iter(approvals.values()), None)
    return Eligibility(refusal=Refusal.ROLE_FILLED, filled=filled, **facts)


def _who_refusal(request, *, user_id, held: list[str], decisions: Sequence[DecisionLike]):
    """Rules 1-4, which depend on who the user is, not on the verdict or role they choose.

    Returns the refusal (or None) and, for rule 4, the user's earlier decision.
    """
    if request.status != SignOffStatus.PENDING:
        return Refusal.NOT_PENDING, None
    if user_id == request.requested_by_id:
        return Refusal.REQUESTER, None
    if request.version_author_id is not None and user_id == request.version_author_id:
        return Refusal.AUTHOR, None
    if not held:
        return Refusal.NOT_A_REVIEWER, None
    earlier = next(
        (d for d in decisions if d.reviewer_id == user_id and d.verdict in (Verdict.APPROVE, Verdict.REJECT)), None
    )
    if earlier is not None:
        return Refusal.ALREADY_DECIDED, earlier
    return None, None


def _role_refusal(role: str, *, required: list[str], held: list[str]) -> Refusal | None:
    """Rule 5: a role the user names must be one the policy asks for and one they hold."""
    if role not in required:
        return Refusal.ROLE_NOT_REQUIRED
    if role not in held:
        return Refusal.ROLE_NOT_HELD
    return None
