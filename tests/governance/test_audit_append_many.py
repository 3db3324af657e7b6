"""append_events / audit.record_many: many events in one go, chained exactly as one-by-one appends are."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import audit as audit_port
from governance.audit.chain import append_event, append_events, compute_hash, event_fields, head_mac, verify_chain
from governance.models import GENESIS_HASH, AuditChainHead, AuditEvent
from projects.inventory import services

from .conftest import chain, seqs


def entries(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "actor": None,
            "action": "thing.changed",
            "object_type": "tests.thing",
            "object_id": str(start + i),
            "before": {"n": start + i - 1},
            "after": {"n": start + i, "name": "détection-模型"},
        }
        for i in range(n)
    ]


@pytest.mark.django_db
def test_a_batch_continues_the_chain_with_consecutive_seqs_and_moves_the_signed_head_once():
    with transaction.atomic():
        append_event(actor=None, action="first", object_type="tests.thing", object_id="0")
        events = append_events(entries(5, start=1))
        append_event(actor=None, action="last", object_type="tests.thing", object_id="9")

    assert seqs() == [1, 2, 3, 4, 5, 6, 7]
    stored = chain()
    assert [e.action for e in stored] == ["first", *["thing.changed"] * 5, "last"]
    assert [e.seq for e in events] == [2, 3, 4, 5, 6]
    prev = GENESIS_HASH
    for event in stored:
        assert event.prev_hash == prev
        assert event.hash == compute_hash(prev, event_fields(event))
        prev = event.hash
    assert stored[3].after == {"n": 3, "name": "détection-模型"}
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash, head.mac) == (7, stored[-1].hash, head_mac(7, stored[-1].hash))
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_batch_on_an_empty_trail_starts_at_genesis_and_an_empty_batch_writes_nothing():
    with transaction.atomic():
        assert append_events([]) == []
        assert AuditEvent.objects.count() == 0
        append_events(entries(3))
    first = chain()[0]
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert AuditChainHead.objects.get().seq == 3
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        append_events(entries(1))
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_record_many_gives_the_same_events_as_record_one_by_one(admin_user):
    team = services.team_create(by=admin_user, name="Claims")
    with transaction.atomic():
        audit_port.record(actor=admin_user, action="team.touched", obj=team, after={"i": 1})
    with transaction.atomic():
        audit_port.record_many([audit_port.entry(actor=admin_user, action="team.touched", obj=team, after={"i": 1})])
    one, many = chain()[-2:]
    fields = ("actor_id", "actor_repr", "action", "object_type", "object_id", "before", "after", "request_id")
    assert [getattr(one, f) for f in fields] == [getattr(many, f) for f in fields]
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_rolled_back_batch_leaves_neither_events_nor_a_moved_head():
    def append_then_fail():
        with transaction.atomic():
            append_events(entries(3, start=2))
            raise ZeroDivisionError

    with transaction.atomic():
        append_events(entries(2))
    with pytest.raises(ZeroDivisionError):
        append_then_fail()
    assert seqs() == [1, 2]
    assert AuditChainHead.objects.get().seq == 2
    assert verify_chain().ok
