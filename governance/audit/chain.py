"""The hash-chained audit trail: append inside the caller's transaction, verify the whole chain.

How an event is hashed lives in hashing.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import math
import operator
import threading
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core import context
from core.bulk_insert import insert_rows
from core.jsontext import dumps

from ..models import GENESIS_HASH, AuditChainHead, AuditEvent
from .hashing import SEQ_INDEX, compute_hash, raw_rows, row_message, utc_time
from .hashing import event_fields as event_fields  # the rule's other half, imported from here by callers

# Any constant works; it names the one advisory lock that serialises appends on PostgreSQL.
PG_CHAIN_LOCK_KEY = 0x6B65656C  # "keel"
HEAD_MAC_SALT = "keel.audit.chain-head"


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


# AuditEvent's columns in the order of its fields: a row of the trail as _event_row builds it.
COLUMNS = tuple(f.attname for f in AuditEvent._meta.concrete_fields)
_HASH_ALG = AuditEvent._meta.get_field("hash_alg").get_default()
_HASH_AT = COLUMNS.index("hash")
_as_row = operator.itemgetter(*COLUMNS)


def _event_row(*, seq: int, prev_hash: str, actor, action, object_type, object_id, before, after) -> tuple:
    """The next event of the chain, hashed, as a row of COLUMNS: no model instance (a sync appends
    thousands). The hash covers what event_fields gives of the same event saved and read back."""
    actor_id, actor_repr = _actor(actor)
    # Truncate to microseconds and pin to UTC so the stored value hashes the same after a round trip.
    occurred_at = timezone.now().astimezone(dt.UTC)
    fields = {
        "seq": seq,
        "occurred_at": utc_time(occurred_at),
        "actor_id": actor_id,
        "actor_repr": actor_repr[:150],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:100],
        # Round-trip through JSON so the hashed value is exactly what the JSON column gives back.
        "before": _round_trip(before) if before is not None else None,
        "after": _round_trip(after) if after is not None else None,
        "request_id": context.request_id.get(),
        "task_id": context.task_id.get(),
        "hash_alg": _HASH_ALG,
    }
    hash_ = compute_hash(prev_hash, fields)
    return _as_row(fields | {"occurred_at": occurred_at, "prev_hash": prev_hash, "hash": hash_})


def _new_event(**event) -> AuditEvent:
    """The next event of the chain (_event_row's arguments), hashed, not yet saved."""
    return AuditEvent(*_event_row(**event))


# json.loads without its per-call checks (the text is json.dumps' own), noting in this thread whether the text
# held a float: only floats are what _as_stored changes, and most audit values hold none.
_floats = threading.local()


def _note_float(text: str) -> float:
    _floats.seen = True
    return float(text)


_scan = json.scanner.make_scanner(json.JSONDecoder(parse_float=_note_float))


def _round_trip(value):
    """The value as its JSON column gives it back (see _as_stored), with _as_stored's walk over the value
    only when its JSON text holds a float."""
    text = dumps(value)
    _floats.seen = False
    stored = _scan(text, 0)[0]
    return _as_stored(stored) if _floats.seen else stored


def _as_stored(value):
    """A JSON value as PostgreSQL's jsonb gives it back, so an event hashes the same before and after it is
    stored: jsonb keeps numbers as exact decimals, so a float Python writes in exponent form comes back as an
    integer when it is a whole number (1e16 → 10000000000000000, 1.5e300 → 15 followed by 299 zeros), and
    -0.0 as 0.0. The same value is stored on SQLite, so both databases hold one form."""
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    if isinstance(value, float) and math.isfinite(value):
        if value == 0:
            return 0.0
        text = repr(value)
        if "e" in text:
            exact = Decimal(text)
            if exact == exact.to_integral_value():
                return int(exact)
    return value


def _chain_end() -> tuple[int, str]:
    """The seq and hash the next event chains onto. Call with the chain locked."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)


def _move_head(seq: int, hash_: str) -> None:
    AuditChainHead.objects.update_or_create(pk=1, defaults={"seq": seq, "hash": hash_, "mac": head_mac(seq, hash_)})


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
    _move_head(event.seq, event.hash)
    return event


BULK_BATCH = 500


def append_events(entries: list[dict]) -> list[AuditEvent]:
    """Append one event per entry, in order, exactly as append_event would one after another
    (consecutive seqs, each hashed onto the one before by the same rule), but the chain is locked
    and read once, the events are inserted in bulk and the signed head moves once, to the last one.

    Each entry holds append_event's keyword arguments. Must run inside the transaction of the
    writes the events record. Returns the events (append_entries appends without building them).
    """
    # The events as read back: instances built from their columns, the cheap way (Model.from_db).
    return [AuditEvent.from_db(connection.alias, COLUMNS, row) for row in _append_rows(entries)]


def append_entries(entries: list[dict]) -> None:
    """append_events without the events handed back: what core.audit.record_many runs (a sync records
    thousands of entries and none of its callers reads them back)."""
    _append_rows(entries)


def _append_rows(entries: list[dict]) -> list[tuple]:
    _require_transaction()
    if not entries:
        return []
    _lock_chain()
    seq, prev_hash = _chain_end()
    rows = []
    for entry in entries:
        row = _event_row(
            seq=seq,
            prev_hash=prev_hash,
            actor=entry.get("actor"),
            action=entry["action"],
            object_type=entry["object_type"],
            object_id=entry["object_id"],
            before=entry.get("before"),
            after=entry.get("after"),
        )
        rows.append(row)
        seq, prev_hash = seq + 1, row[_HASH_AT]
    insert_rows(AuditEvent, COLUMNS, rows, batch_size=BULK_BATCH)
    _move_head(seq - 1, prev_hash)
    return rows


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


# --- verification ------------------------------------------------------------------------------------

PROGRESS_EVERY = 100_000
DEFAULT_CHUNK = 2000  # ~3.7 MB of rows in hand; larger chunks were no faster on either database
ROW_DELETED = "seq {seq} is missing (row deleted)"
OUT_OF_ORDER = "seq out of order"
LINK_BROKEN = "prev_hash does not match the previous row (row inserted or reordered)"
ROW_ALTERED = "hash does not match the row's content (row altered)"
HEAD_MISSING = "the signed chain head is missing"
HEAD_FORGED = "the chain head's signature is invalid (head forged)"
NEWEST_DELETED = "seq {seq} is missing (newest rows deleted)"
NEWEST_DIFFERS = "the newest row differs from the signed head"
ROWS_INSERTED = "rows after the signed head (rows inserted)"
HEAD_ROW_DIFFERS = "the row at the signed head's seq differs from the signed head"


def _head_mac_ok(head: AuditChainHead) -> bool:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(head.mac, head_mac(head.seq, head.hash, s)) for s in secrets)


def _head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=1).first()


@dataclass
class _Walk:
    """How far the walk got: the rows checked, the newest hash, and the hash at `watch_seq`."""

    checked: int = 0
    last_hash: str = GENESIS_HASH
    watch_seq: int = 0
    watched_hash: str | None = None


def _next_stop(seq: int, *marks: int) -> int:
    ahead = [m for m in marks if m > seq]
    return min(ahead) if ahead else 0  # 0: never, seqs start at 1


def _walk(rows, walk: _Walk, progress, progress_every: int) -> VerifyResult | None:
    """Check each row's seq, link and hash in one tight loop (locals only, one sha256 per row); the
    rare stops, for progress and at the head's seq, share one comparison per row. Fills `walk`;
    returns the first break, if any."""
    sha256, message, seq_at = hashlib.sha256, row_message, SEQ_INDEX
    expected, prev_hash = 1, GENESIS_HASH
    every = progress_every if progress is not None and progress_every > 0 else 0
    next_report = every
    stop = _next_stop(0, next_report, walk.watch_seq)
    for row in rows:
        seq = row[seq_at]
        if seq != expected:
            if seq > expected:
                return VerifyResult(False, expected - 1, expected, ROW_DELETED.format(seq=expected))
            return VerifyResult(False, expected - 1, seq, OUT_OF_ORDER)
        if row[0] != prev_hash:
            return VerifyResult(False, expected - 1, seq, LINK_BROKEN)
        prev_hash = sha256(message(prev_hash, row)).hexdigest()
        if prev_hash != row[1]:
            return VerifyResult(False, expected - 1, seq, ROW_ALTERED)
        if seq == stop:
            if seq == walk.watch_seq:
                walk.watched_hash = prev_hash
            if seq == next_report:
                progress(seq)
                next_report += every
            stop = _next_stop(seq, next_report, walk.watch_seq)
        expected += 1
    walk.checked, walk.last_hash = expected - 1, prev_hash
    return None


def verify_chain(
    *, chunk_size: int = DEFAULT_CHUNK, progress=None, progress_every: int = PROGRESS_EVERY
) -> VerifyResult:
    """Walk the chain in seq order; report the first seq where it breaks and how.

    The rows stream `chunk_size` at a time as raw tuples of the hashed columns (hashing.raw_rows):
    memory stays flat at any length. On PostgreSQL they are read inside a transaction, so the
    server-side cursor streams instead of being copied whole on the server first (what a cursor
    outside a transaction, WITH HOLD, does). `progress(events_checked)` is called every
    `progress_every` events.

    The signed head is read before the rows as well as after: every row up to the first head was
    committed before the rows were read, so a writer appending during a long walk is told apart from
    rows deleted or inserted behind the head's back.
    """
    head = _head()
    walk = _Walk(watch_seq=head.seq if head is not None else 0)
    reading = transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext()
    # closing(): an early return still closes the cursor inside the transaction that opened it.
    with reading, contextlib.closing(raw_rows(chunk_size)) as rows:
        failure = _walk(rows, walk, progress, progress_every)
    return failure or _check_head(walk, head)


def _check_head(walk: _Walk, head: AuditChainHead | None) -> VerifyResult:
    """Hold the walked chain against the signed head: the one read before the rows, then, when rows
    followed it, the one now (a writer may have appended and moved it while the rows were read)."""
    checked = last = walk.checked
    if head is None:
        head = _head()  # the first events may have been appended after the head was first read
        if head is None:
            return VerifyResult(False, checked, last, HEAD_MISSING) if last else VerifyResult(True, 0)
    if not _head_mac_ok(head):
        return VerifyResult(False, checked, head.seq, HEAD_FORGED)
    if head.seq > last:
        return VerifyResult(False, checked, last + 1, NEWEST_DELETED.format(seq=last + 1))
    if head.seq == last:
        ok = head.hash == walk.last_hash
        return VerifyResult(True, checked) if ok else VerifyResult(False, checked, last, NEWEST_DIFFERS)
    now = _head()
    if now is None or now.seq == head.seq or not _head_mac_ok(now):  # no writer moved it: rows were inserted
        return VerifyResult(False, checked, head.seq + 1, ROWS_INSERTED)
    if walk.watched_hash is not None and head.hash != walk.watched_hash:
        return VerifyResult(False, checked, head.seq, HEAD_ROW_DIFFERS)
    if now.seq < last:
        return VerifyResult(False, checked, now.seq + 1, ROWS_INSERTED)
    if now.seq == last and now.hash != walk.last_hash:
        return VerifyResult(False, checked, last, NEWEST_DIFFERS)
    # now.seq > last: appended after the rows were read; the next run verifies them.
    return VerifyResult(True, checked)
