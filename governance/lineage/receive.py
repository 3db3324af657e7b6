"""Receiving an OpenLineage event: what the POST does before it answers "stored durably".

receive(payload=..., by=...):
1. who may post: admins and team leads (a pipeline's machine user holds Team Lead);
2. the event's id is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8);
3. validate (validation.py): an invalid event stores nothing (unless it was stored before: see 5);
4. ONE statement stores the raw event with applied_at null, unless its hash is stored already or, for a
   run's event, another job's stored event holds its runId; it waits in the queue (queue.py) until the
   applier (apply.py) writes it into the graph, in id order. On SQLite, POSTs of one threaded process
   that wait for the write lock meanwhile run their statements in one transaction (together.py);
5. only when that wrote nothing: an event stored before is answered "duplicate" and nothing is written —
   unless it was refused when applied, then it waits to be applied again; a runId another job's events
   used first is refused (the applier checks again, for events that raced each other).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection, transaction

from core.errors import PermissionDeniedError
from core.queries import prepared_cursor
from core.roles import Role, has_role

from ..models import LineageEvent
from .together import write_together
from .validation import LineageEventInvalid, ValidatedEvent, validate_event

# Who may post lineage: the pipelines of a team (a machine user holding Team Lead) and admins. Readers
# (executives, risk and compliance officers) assert nothing about pipelines. Lineage is organisation-wide
# facts, not scoped to a team, so any holder of these roles may post any namespace.
INGEST_ROLES = (Role.ADMIN, Role.TEAM_LEAD)


def canonical_json(payload: Any) -> str:
    """The canonical JSON of an event (sorted keys, no spaces, UTF-8): what its id hashes, and what is stored."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(payload: Any, text: str | None = None) -> str:
    """SHA-256 of the canonical JSON: the same event, however its keys or spaces were laid out, hashes alike."""
    return hashlib.sha256((canonical_json(payload) if text is None else text).encode()).hexdigest()


@dataclass
class Received:
    status: str  # "accepted" | "duplicate"
    event: LineageEvent
    warnings: list[str] = field(default_factory=list)


def check_may_post(by) -> None:
    if by is not None and getattr(by, "is_authenticated", False) and not has_role(by, *INGEST_ROLES):
        raise PermissionDeniedError("Only admins and team leads (e.g. a pipeline's machine user) may post lineage.")


def receive(*, payload: Any, by) -> Received:
    """Validate and store one event, not yet applied; "duplicate" (nothing written) when seen before."""
    check_may_post(by)
    text = canonical_json(payload)
    digest = canonical_hash(payload, text)
    try:
        validated = validate_event(payload, text)
    except LineageEventInvalid:
        # An event stored before is answered as before, even if it would not pass today's checks.
        existing = _stored(digest)
        if existing is None:
            raise
        return _known(existing, by)
    row = _raw_row(validated, digest, by)
    # Almost every POST is a new event of a run of its own job, so the INSERT is tried first and only when
    # it writes nothing is it asked why: this event stored before, or its runId another job's.
    for _ in range(2):
        if _insert_new(row, text):
            return Received("accepted", row, validated.warnings)
        existing = _stored(digest)
        if existing is not None:
            return _known(existing, by)
        if row.kind == "run":
            _check_run_owner(row)  # raises when another job's event holds the runId
        # Neither any more (the other job's event was refused by the applier meanwhile): once again.
    raise RuntimeError(f"lineage event {digest} was neither stored nor found stored twice in a row")


def _known(existing: LineageEvent, by) -> Received:
    """An event stored before: "duplicate", unless it was refused when applied — then it waits to be
    applied again."""
    if existing.refused_when_applied:
        return _requeue(LineageEvent.objects.get(pk=existing.pk), by)
    return Received("duplicate", existing)


# SQLite: how often the POST's INSERT asks again for the write lock the applier's batch holds.
LOCK_POLL_SECONDS = 0.001


def _insert_new(row: LineageEvent, text: str) -> bool:
    """The one INSERT (outside any transaction: one statement is its own in autocommit, as a request runs, or on
    SQLite, when other threads' POSTs wait for the lock with it, one transaction with theirs (together.py);
    inside a caller's, a savepoint keeps a failure from breaking that one). False when it wrote nothing:
    an event with this hash is stored, or (a run's event) another job's stored event holds its runId."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return _insert_statement(row, text)
    if connection.vendor != "sqlite":
        return _insert_statement(row, text)
    return write_together(lambda: _insert_statement(row, text), when_unlocked=_when_unlocked)


def _when_unlocked(write):
    """SQLite: `write()` tried again every millisecond while the applier's batch holds the database's one
    write lock (tens of milliseconds), up to the connection's busy timeout. SQLite's own busy handler
    waits for it in growing naps (up to 100 ms each), so a POST went on sleeping long after the lock was
    free, and with it the whole web worker."""
    connection.ensure_connection()
    raw = connection.connection
    timeout = float(connection.settings_dict["OPTIONS"].get("timeout", 5))  # sqlite3's default: 5 s
    deadline = time.monotonic() + timeout
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                return write()
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL_SECONDS)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")


def _requeue(existing: LineageEvent, by) -> Received:
    """An event refused when it was applied (e.g. a PII kind not known then) is applied again when it is
    sent again: what refused it may have been put right since."""
    check = _raw_row(validate_event(existing.payload), existing.event_hash, by)
    if check.kind == "run":
        _check_run_owner(check, excluding=existing.pk)
    LineageEvent.objects.filter(pk=existing.pk).update(applied_at=None, apply_error="", received_by=check.received_by)
    existing.refresh_from_db()
    return Received("accepted", existing)


def _raw_row(validated: ValidatedEvent, digest: str, by) -> LineageEvent:
    payload = validated.payload
    job = payload.get("job") if isinstance(payload.get("job"), dict) else {}
    run = payload.get("run") if isinstance(payload.get("run"), dict) else {}
    return LineageEvent(
        event_hash=digest,
        kind=validated.kind,
        event_type=str(payload.get("eventType") or "")[:10],
        event_time=validated.event_time,
        run_id=str(run.get("runId") or ""),
        job_namespace=str(job.get("namespace") or "")[:500],
        job_name=str(job.get("name") or "")[:1000],
        producer=str(payload["producer"])[:1000],
        schema_url=str(payload["schemaURL"])[:1000],
        spec_major=validated.spec_major,
        payload=payload,
        received_by=by if getattr(by, "is_authenticated", False) else None,
        applied_at=None,  # waits for the applier
    )


# The two reads every POST makes, as plain SQL: the ORM spends more building these queries than the
# database spends answering them (both are index lookups: event_hash is unique, run_id is indexed).
_TABLE = LineageEvent._meta.db_table
_STORED_SQL = f"SELECT id, kind, applied_at, apply_error FROM {_TABLE} WHERE event_hash = %s"  # noqa: S608
_OWNER_SQL = (
    f"SELECT job_namespace, job_name FROM {_TABLE} WHERE run_id = %s AND kind = 'run' AND apply_error = ''"  # noqa: S608
    " AND NOT (job_namespace = %s AND job_name = %s) AND id <> %s LIMIT 1"
)


def _insert_sql(vendor: str) -> tuple[str, str, list]:
    """The INSERT of a new event, for a run's event and for any other: nothing is written when the hash is
    stored (ON CONFLICT DO NOTHING) or, for a run's, when another job's stored event holds its runId. On
    PostgreSQL each value is cast to its column's type (without length: the INSERT checks lengths), as a
    SELECT list's untyped values would otherwise be text."""
    columns = [f for f in LineageEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    if vendor == "postgresql":
        values = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}" for f in columns)
    else:
        values = ", ".join(["%s"] * len(columns))
    tail = " ON CONFLICT (event_hash) DO NOTHING RETURNING id"
    other_job = (
        f"SELECT 1 FROM {_TABLE} WHERE run_id = %s AND kind = 'run' AND apply_error = ''"  # noqa: S608
        " AND NOT (job_namespace = %s AND job_name = %s)"
    )
    any_event = f"INSERT INTO {_TABLE} ({names}) VALUES ({values}){tail}"  # noqa: S608
    run_event = f"INSERT INTO {_TABLE} ({names}) SELECT {values} WHERE NOT EXISTS ({other_job}){tail}"
    return any_event, run_event, columns


_INSERT_SQL: dict[str, tuple[str, str, list]] = {}


def _insert_statement(row: LineageEvent, text: str) -> bool:
    vendor = connection.vendor
    if vendor not in _INSERT_SQL:
        _INSERT_SQL[vendor] = _insert_sql(vendor)
    any_event, run_event, columns = _INSERT_SQL[vendor]
    values = [text if f.name == "payload" else f.get_db_prep_save(f.pre_save(row, True), connection) for f in columns]
    with prepared_cursor() as cursor:
        if row.kind == "run":
            cursor.execute(run_event, [*values, row.run_id, row.job_namespace, row.job_name])
        else:
            cursor.execute(any_event, values)
        found = cursor.fetchone()
    if found is None:
        return False
    row.pk = found[0]
    row._state.adding, row._state.db = False, connection.alias
    return True


def _stored(digest: str) -> LineageEvent | None:
    """The stored event with this hash (what the answer needs; refused_when_applied says whether it was
    refused when applied), or None."""
    with prepared_cursor() as cursor:
        cursor.execute(_STORED_SQL, [digest])
        found = cursor.fetchone()
    if found is None:
        return None
    pk, kind, applied, error = found
    event = LineageEvent(pk=pk, event_hash=digest, kind=kind, apply_error=error)
    event.refused_when_applied = bool(error) and applied is not None
    return event


def _check_run_owner(row: LineageEvent, excluding: int | None = None) -> None:
    """A runId is one job's: refused when an event of another job, stored and not refused, used it first."""
    with connection.cursor() as cursor:
        cursor.execute(_OWNER_SQL, [row.run_id, row.job_namespace, row.job_name, excluding or 0])
        other = cursor.fetchone()
    if other is not None:
        raise run_job_mismatch(row.run_id, f"{other[0]}/{other[1]}")


def run_job_mismatch(run_id: str, owner: str) -> LineageEventInvalid:
    return LineageEventInvalid(
        [f"run.runId {run_id} already belongs to job {owner}, not to this one"], code="run_job_mismatch"
    )
