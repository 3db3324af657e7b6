"""Receiving an OpenLineage event: what the POST does before it answers "stored durably".

receive(payload=..., by=...):
1. who may post: admins and team leads (a pipeline's machine user holds Team Lead);
2. the event's id is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8): an event stored
   before is answered "duplicate" and nothing is written — unless it was refused when applied, then it
   waits to be applied again;
3. validate (validation.py): an invalid event stores nothing; a runId already used by another job's
   events is refused here too (the applier checks again, for events that raced each other);
4. ONE insert of the raw event with applied_at null: it waits in the queue (queue.py) until the applier
   (apply.py) writes it into the graph, in id order.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction

from core.errors import PermissionDeniedError
from core.roles import Role, has_role

from ..models import LineageEvent
from .bulk import insert_one
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
    existing = _stored(digest)
    if existing is not None and existing.refused_when_applied:
        return _requeue(LineageEvent.objects.get(pk=existing.pk), by)
    if existing is not None:  # stored before, so valid: not checked again
        return Received("duplicate", existing)
    validated = validate_event(payload, text)
    row = _raw_row(validated, digest, by)
    if row.kind == "run":
        _check_run_owner(row)
    try:
        # One statement is its own transaction in autocommit (as a request runs): no BEGIN/COMMIT pair around
        # it. Inside a caller's transaction, a savepoint keeps a refused duplicate from breaking that one.
        if connection.in_atomic_block:
            with transaction.atomic():
                insert_one(row, prepared={"payload": text})
        else:
            _insert_when_unlocked(row, text)
    except IntegrityError:  # the same event, sent twice at once: the other request stored it
        return Received("duplicate", LineageEvent.objects.get(event_hash=digest), validated.warnings)
    return Received("accepted", row, validated.warnings)


# SQLite: how often the POST's INSERT asks again for the write lock the applier's batch holds.
LOCK_POLL_SECONDS = 0.001


def _insert_when_unlocked(row: LineageEvent, text: str) -> None:
    """The one INSERT, outside any transaction. On SQLite the applier's batch holds the database's one write
    lock for tens of milliseconds; SQLite's own busy handler waits for it in growing naps (up to 100 ms
    each), so a POST went on sleeping long after the lock was free, and with it the whole web worker. Here
    the INSERT is tried again every millisecond instead, up to the connection's busy timeout."""
    if connection.vendor != "sqlite":
        insert_one(row, prepared={"payload": text})
        return
    connection.ensure_connection()
    raw = connection.connection
    timeout = float(connection.settings_dict["OPTIONS"].get("timeout", 5))  # sqlite3's default: 5 s
    deadline = time.monotonic() + timeout
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                insert_one(row, prepared={"payload": text})
                return
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


def _stored(digest: str) -> LineageEvent | None:
    """The stored event with this hash (what the answer needs; refused_when_applied says whether it was
    refused when applied), or None."""
    with connection.cursor() as cursor:
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
