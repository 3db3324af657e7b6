"""Many reviewers deciding one sign-off request at the same moment, on PostgreSQL.

The request's row lock serialises them: exactly one state transition happens, every other reviewer
gets a clear conflict, each refusal is itself an audit event, and the audit chain stays one
verifiable line. Each thread has its own connection and commits its own transactions, so these
tests run outside the test transaction (transaction=True). Skipped without PostgreSQL locally; a
failure under CI=true.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from core.errors import ConflictError
from core.roles import Role
from governance.audit.chain import verify_chain
from governance.models import AuditEvent, SignOffDecision, SignOffRequest
from governance.signoff import services as signoff
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.signoff_factories import assess, linked_version, pending_request

pytestmark = [pytest.mark.postgres_only, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT_SECONDS = 120


def decide_all_at_once(request: SignOffRequest, moves: list[tuple]) -> list:
    """moves: (user, verdict, comment) per thread, released together by a barrier.
    Returns, per thread in order, the decision made or the exception raised."""
    barrier = threading.Barrier(len(moves))
    outcomes: list = [None] * len(moves)

    def worker(i: int, user, verdict: str, comment: str) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=30)
            outcomes[i] = signoff.signoff_decide(by=user, request=request, verdict=verdict, comment=comment)
        except BaseException as exc:  # every outcome is asserted on below
            outcomes[i] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker, args=(i, *move), name=f"reviewer-{i}") for i, move in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_SECONDS)
    assert not any(t.is_alive() for t in threads), "a reviewer thread hung"
    return outcomes


def setup_request(tier: str) -> SignOffRequest:
    lead = make_user("lead", Role.TEAM_LEAD)
    project = AIProjectFactory(name="Claims triage", team=TeamFactory(name="Claims", lead=lead), owner=lead)
    assess(project, tier)
    return pending_request(linked_version(project), lead)


def assert_chain_intact() -> None:
    result = verify_chain()
    assert result.ok, result
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def signoff_actions(request: SignOffRequest) -> Counter:
    return Counter(
        AuditEvent.objects.filter(object_type="governance.signoffrequest", object_id=str(request.pk)).values_list(
            "action", flat=True
        )
    )


def test_twenty_four_risk_officers_approving_at_once_make_exactly_one_approval():
    request = setup_request("minimal")
    officers = [make_user(f"ro{i:02d}", Role.RISK_OFFICER) for i in range(24)]

    outcomes = decide_all_at_once(request, [(o, "approve", "") for o in officers])

    made = [o for o in outcomes if isinstance(o, SignOffDecision)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(made), len(refused)) == (1, 23), [
        o for o in outcomes if not isinstance(o, SignOffDecision | ConflictError)
    ]
    assert all("already approved; it takes no more decisions" in e.message for e in refused)
    request.refresh_from_db()
    assert request.status == "approved"
    assert list(SignOffDecision.objects.values_list("pk", "verdict")) == [(made[0].pk, "approve")]
    assert signoff_actions(request) == {
        "signoff.requested": 1, "signoff.decided": 1, "signoff.approved": 1, "signoff.decision_refused": 23,
    }  # fmt: skip
    winner = AuditEvent.objects.get(action="signoff.approved")
    assert winner.actor_id == made[0].reviewer_id
    refused_by = set(AuditEvent.objects.filter(action="signoff.decision_refused").values_list("actor_id", flat=True))
    assert refused_by == {o.pk for o in officers} - {made[0].reviewer_id}
    assert_chain_intact()


def test_twenty_two_risk_officers_approving_and_rejecting_at_once_make_exactly_one_transition():
    request = setup_request("limited")
    officers = [make_user(f"ro{i:02d}", Role.RISK_OFFICER) for i in range(22)]
    moves = [(o, "approve", "") if i % 2 else (o, "reject", f"Not yet ({i}).") for i, o in enumerate(officers)]

    outcomes = decide_all_at_once(request, moves)

    made = [o for o in outcomes if isinstance(o, SignOffDecision)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(made), len(refused)) == (1, 21), [
        o for o in outcomes if not isinstance(o, SignOffDecision | ConflictError)
    ]
    request.refresh_from_db()
    expected = {"approve": "approved", "reject": "rejected"}[made[0].verdict]
    assert request.status == expected
    assert SignOffDecision.objects.count() == 1
    assert signoff_actions(request) == {
        "signoff.requested": 1, "signoff.decided": 1, f"signoff.{expected}": 1, "signoff.decision_refused": 21,
    }  # fmt: skip
    assert_chain_intact()


def test_a_high_risk_request_decided_by_many_officers_of_both_roles_at_once_ends_consistent():
    """Risk and compliance officers approve or reject together: whatever the order, the request ends
    approved (one approval per role, by two people) or rejected (one rejection), and nothing else."""
    request = setup_request("high")
    moves = []
    for i in range(12):
        moves.append((make_user(f"ro{i:02d}", Role.RISK_OFFICER), "approve" if i % 3 else "reject", "No."))
        moves.append((make_user(f"co{i:02d}", Role.COMPLIANCE), "approve" if i % 4 else "reject", "No."))

    outcomes = decide_all_at_once(request, moves)

    made = [o for o in outcomes if isinstance(o, SignOffDecision)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(made) + len(refused) == 24, [o for o in outcomes if not isinstance(o, SignOffDecision | ConflictError)]
    request.refresh_from_db()
    decisions = list(SignOffDecision.objects.order_by("pk").values_list("verdict", "role", "reviewer_id"))
    assert len(decisions) == len(made)
    actions = signoff_actions(request)
    if request.status == "approved":
        assert sorted((v, r) for v, r, _ in decisions) == [
            ("approve", "Compliance Officer"),
            ("approve", "Risk Officer"),
        ]
        assert len({reviewer for _, _, reviewer in decisions}) == 2
        assert (actions["signoff.approved"], actions["signoff.rejected"]) == (1, 0)
    else:
        assert request.status == "rejected"
        assert [v for v, _, _ in decisions].count("reject") == 1
        assert decisions[-1][0] == "reject"  # nothing was decided after the rejection
        assert [v for v, _, _ in decisions].count("approve") <= 1
        assert (actions["signoff.approved"], actions["signoff.rejected"]) == (0, 1)
    assert actions["signoff.decided"] == len(made)
    assert actions["signoff.decision_refused"] == len(refused) == 24 - len(made)
    assert_chain_intact()
