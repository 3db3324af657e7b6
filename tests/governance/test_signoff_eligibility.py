"""The one eligibility rule (governance/signoff/eligibility.py), case by case, without a database.

The page, the API and signoff_decide all ask it; their own tests (test_signoff_services.py,
test_signoff_pages.py, test_signoff_api.py) check the errors and notes they build from its answer.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from governance.signoff.eligibility import Refusal, decision_eligibility, missing_roles

RO, CO = "Risk Officer", "Compliance Officer"
REQUESTER, AUTHOR, ALICE, BOB = 1, 2, 3, 4


def request(*, status: str = "pending", roles: tuple[str, ...] = (RO, CO), author: int | None = AUTHOR):
    return SimpleNamespace(
        status=status, policy=SimpleNamespace(required_roles=list(roles)), requested_by_id=REQUESTER,
        version_author_id=author,
    )  # fmt: skip


def decision(reviewer: int, role: str, verdict: str = "approve"):
    return SimpleNamespace(reviewer_id=reviewer, role=role, verdict=verdict)


@pytest.mark.parametrize(
    ("case", "kwargs", "refusal", "role"),
    [
        ("a risk officer approves a pending request", {"user_roles": {RO}}, None, RO),
        ("the page asks without a verdict", {"user_roles": {RO}, "verdict": None}, None, RO),
        ("a closed request takes no decision", {"request": request(status="approved")}, Refusal.NOT_PENDING, None),
        ("closed comes before separation of duties",
         {"request": request(status="rejected"), "user_id": REQUESTER}, Refusal.NOT_PENDING, None),
        ("the requester never decides", {"user_id": REQUESTER, "user_roles": {RO, CO}}, Refusal.REQUESTER, None),
        ("the version's author never decides", {"user_id": AUTHOR, "user_roles": {RO}}, Refusal.AUTHOR, None),
        ("no author known: nobody is refused as author",
         {"request": request(author=None), "user_id": AUTHOR, "user_roles": {RO}}, None, RO),
        ("a role the policy does not ask for", {"user_roles": {"Executive"}}, Refusal.NOT_A_REVIEWER, None),
        ("a compliance officer on a one-role policy",
         {"request": request(roles=(RO,)), "user_roles": {CO}}, Refusal.NOT_A_REVIEWER, None),
        ("one person, one role: approved already",
         {"user_roles": {RO, CO}, "decisions": [decision(ALICE, RO)]}, Refusal.ALREADY_DECIDED, None),
        ("one person, one role: rejected already",
         {"user_roles": {RO}, "decisions": [decision(ALICE, RO, "reject")], "verdict": "request_changes"},
         Refusal.ALREADY_DECIDED, None),
        ("asking for changes does not use up a person",
         {"user_roles": {RO}, "decisions": [decision(ALICE, RO, "request_changes")]}, None, RO),
        ("a named role the policy does not ask for",
         {"request": request(roles=(RO,)), "user_roles": {RO, CO}, "role": CO}, Refusal.ROLE_NOT_REQUIRED, None),
        ("a named role the user does not hold", {"user_roles": {RO}, "role": CO}, Refusal.ROLE_NOT_HELD, None),
        ("a named role the user holds", {"user_roles": {RO, CO}, "role": CO}, None, CO),
        ("the role is filled by someone else",
         {"user_roles": {RO}, "decisions": [decision(BOB, RO)]}, Refusal.ROLE_FILLED, None),
        ("holding two roles, the open one is taken",
         {"user_roles": {RO, CO}, "decisions": [decision(BOB, RO)]}, None, CO),
        ("a rejection needs no open role",
         {"user_roles": {RO}, "decisions": [decision(BOB, RO)], "verdict": "reject"}, None, RO),
    ],
)  # fmt: skip
def test_decision_eligibility(case, kwargs, refusal, role):
    args = {"request": request(), "user_id": ALICE, "user_roles": set(), "decisions": [], "verdict": "approve"}
    args.update(kwargs)
    answer = decision_eligibility(
        request=args["request"], user_id=args["user_id"], roles=args["user_roles"], decisions=args["decisions"],
        verdict=args["verdict"], role=args.get("role"),
    )  # fmt: skip
    assert (answer.refusal, answer.role, answer.may_decide) == (refusal, role, refusal is None), case


def test_a_refusal_carries_what_its_message_needs():
    mine, theirs = decision(ALICE, RO), decision(BOB, CO)
    decided = decision_eligibility(
        request=request(), user_id=ALICE, roles={RO, CO}, decisions=[mine], verdict="approve"
    )
    filled = decision_eligibility(request=request(), user_id=ALICE, roles={CO}, decisions=[theirs], verdict="approve")
    assert (decided.earlier, decided.missing, decided.held) == (mine, [CO], [RO, CO])
    assert (filled.filled, filled.missing, filled.held) == (theirs, [RO], [CO])


def test_only_holders_of_a_reviewer_role_count_as_reviewers():
    lead = decision_eligibility(request=request(), user_id=REQUESTER, roles={"Team Lead"}, decisions=[])
    officer = decision_eligibility(request=request(), user_id=REQUESTER, roles={RO}, decisions=[])
    assert (lead.refusal, lead.is_reviewer, officer.refusal, officer.is_reviewer) == (
        Refusal.REQUESTER, False, Refusal.REQUESTER, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("decisions", "missing"),
    [
        ([], [RO, CO]),
        ([decision(ALICE, RO)], [CO]),
        ([decision(ALICE, RO, "reject"), decision(BOB, CO, "request_changes")], [RO, CO]),
        ([decision(ALICE, CO), decision(BOB, RO)], []),
    ],
)
def test_missing_roles_are_the_required_roles_nobody_approved_in_policy_order(decisions, missing):
    assert missing_roles([RO, CO], decisions) == missing
