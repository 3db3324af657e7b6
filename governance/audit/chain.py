"""The hash-chained audit trail: append inside the caller's transaction, verify the whole chain.

hash = SHA-256("keel-audit-v1" 0x00 prev_hash 0x00 canonical-JSON(event fields)), where the canonical
JSON is UTF-8 with sorted keys and no spaces, and times are UTC ISO-8601 with microseconds. The same
rule is written out in docs/audit.md so an auditor can re-check an export without Keel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core import context

from ..models import GENESIS_HASH, AuditChainHead, AuditEvent

HASH_PREFIX = b"keel-audit-v1\x00"
# Any constant works; it names the one advisory lock that serialises appends on PostgreSQL.
PG_CHAIN_LOCK_KEY = 0x6B65656C  # "keel"
HEAD_MAC_SALT = "keel.audit.chain-head"
HASHED_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor_repr", "action", "object_type", "object_id",
    "before", "after", "request_id", "task_id", "hash_alg",
)  # fmt: skip


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_fields(event: AuditEvent) -> dict:
    out = {name: getattr(event, name) for name in HASHED_FIELDS}
    out["occurred_at"] = _time(event.occurred_at)
    return out


def compute_hash(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256(HASH_PREFIX + prev_hash.encode() + b"\x00" + canonical_json(fields)).hexdigest()


def head_mac(seq: int, hash_: str, secret: str | None = None) -> str:
    return salted_hmac(HEAD_MAC_SALT, f"{seq}:{hash_}", secret=secret, algorithm="sha256").hexdigest()


def _actor(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous"
    return actor.pk, actor.get_username()


def _lock_chain() -> None:
    """Serialise appenders so two transactions never take the same seq (no fork of the chain).

    PostgreSQL: a transaction-level advisory lock, released at commit or rollback. SQLite: the
    IMMEDIATE transaction mode in settings already holds the database write lock from BEGIN.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [PG_CHAIN_LOCK_KEY])


def _new_event(*, seq: int, prev_hash: str, actor, action, object_type, object_id, before, after) -> AuditEvent:
    """The next event of the chain, hashed, not yet saved."""
    actor_id, actor_repr = _actor(actor)
    # Truncate to microseconds and pin to UTC so the stored value hashes the same after a round trip.
    occurred_at = timezone.now().astimezone(dt.UTC)
    event = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_repr=actor_repr[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:100],
        # Round-trip through JSON so the hashed value is exactly what the JSON column gives back.
        before=json.loads(json.dumps(before)) if before is not None else None,
        after=json.loads(json.dumps(after)) if after is not None else None,
        request_id=context.request_id.get(),
        task_id=context.task_id.get(),
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(prev_hash, event_fields(event))
    return event


def _chain_end() -> tuple[int, str]:
    """The seq and hash the next event chains onto. Call with the chain locked."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)


def _move_head(event: AuditEvent) -> None:
    AuditChainHead.objects.update_or_create(
        pk=1, defaults={"seq": event.seq, "hash": event.hash, "mac": head_mac(event.seq, event.hash)}
    )


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("An audit event must be appended inside the transaction of the write it records.")


def append_event(*, actor, action: str, object_type: str, object_id: str, before=None, after=None) -> AuditEvent:
    """Append one event. Must run inside the transaction of the write it records."""
    _require_transaction()
    _lock_chain()
    seq, prev_hash = _chain_end()
    event = _new_event(
        seq=seq, prev_hash=prev_hash, actor=actor, action=action, object_type=object_type,
        object_id=object_id, before=before, after=after,
    )  # fmt: skip
    event.save(force_insert=True)
    _move_head(event)
    return event


BULK_BATCH = 500


def append_events(entries: list[dict]) -> list[AuditEvent]:
    """Append one event per entry, in order, exactly as append_event would one after another
    (consecutive seqs, each hashed onto the one before by the same rule), but the chain is locked
    and read once, the events are inserted in bulk and the signed head moves once, to the last one.

    Each entry holds append_event's keyword arguments. Must run inside the transaction of the
    writes the events record (a sync storing thousands of versions records them this way).
    """
    _require_transaction()
    if not entries:
        return []
    _lock_chain()
    seq, prev_hash = _chain_end()
    events = []
    for entry in entries:
        event = _new_event(
            seq=seq,
            prev_hash=prev_hash,
            actor=entry.get("actor"),
            action=entry["action"],
            object_type=entry["object_type"],
            object_id=entry["object_id"],
            before=entry.get("before"),
            after=entry.get("after"),
        )
        events.append(event)
        seq, prev_hash = seq + 1, event.hash
    AuditEvent.objects.bulk_create(events, batch_size=BULK_BATCH)
    _move_head(events[-1])
    return events


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def _head_mac_ok(head: AuditChainHead) -> bool:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(head.mac, head_mac(head.seq, head.hash, s)) for s in secrets)


def verify_chain(*, chunk_size: int = 2000) -> VerifyResult:
    """Walk the chain in seq order; report the first seq where it breaks and how."""
    expected_seq, prev_hash, checked, last_hash = 1, GENESIS_HASH, 0, GENESIS_HASH
    rows = AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)
    for event in rows:
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                return VerifyResult(False, checked, expected_seq, f"seq {expected_seq} is missing (row deleted)")
            return VerifyResult(False, checked, event.seq, "seq out of order")
        if event.prev_hash != prev_hash:
            return VerifyResult(
                False, checked, event.seq, "prev_hash does not match the previous row (row inserted or reordered)"
            )
        if compute_hash(prev_hash, event_fields(event)) != event.hash:
            return VerifyResult(False, checked, event.seq, "hash does not match the row's content (row altered)")
        prev_hash = last_hash = event.hash
        expected_seq += 1
        checked += 1
    last_seq = expected_seq - 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if last_seq:
            return VerifyResult(False, checked, last_seq, "the signed chain head is missing")
        return VerifyResult(True, 0)
    if not _head_mac_ok(head):
        return VerifyResult(False, checked, head.seq, "the chain head's signature is invalid (head forged)")
    if head.seq > last_seq:
        return VerifyResult(False, checked, last_seq + 1, f"seq {last_seq + 1} is missing (newest rows deleted)")
    if head.seq < last_seq:
        return VerifyResult(False, checked, head.seq + 1, "rows after the signed head (rows inserted)")
    if head.hash != last_hash:
        return VerifyResult(False, checked, last_seq, "the newest row differs from the signed head")
    return VerifyResult(True, checked)
