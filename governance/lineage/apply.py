"""Applying the waiting events: one applier at a time, batches in id order, one transaction each.

lineage_apply_pending(max_batch=...) takes the lease (queue.py) and, until nothing waits, applies the
oldest waiting events in batches (writer.py: a constant number of set-based queries per batch). Per batch,
in one transaction: the graph writes, applied_at on its events, ONE audit event "lineage.applied" (the
events' ids and who sent each; its actor is the sender when there is one), and ONE lineage_changed
signal (dataset_ids and added_edges, signals.py) whose receivers (PII propagation, obligations) run in
the same transaction.

An event refused while being applied (its runId belongs to another job by then, or a receiver refuses
what it asserts, e.g. an unknown PII kind) is marked applied with its reason in apply_error and audited
as "lineage.refused"; the rest of its batch is applied. A batch that fails for any other reason than
its events (the database went away, a lock timed out) is rolled back whole, nothing of it marked
applied, and retried by the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from core import audit
from core.collector import collector_paused
from core.errors import DomainError
from core.table_stats import analyze_grown

from ..models import (
    AuditEvent,
    Classification,
    ColumnEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    Job,
    LineageEdge,
    LineageEvent,
    Run,
)
from . import queue
from .bulk import chunks, touch
from .signals import events_applied, lineage_changed
from .validation import LineageEventInvalid
from .writer import COUNT_KEYS, BatchWriter

log = logging.getLogger(__name__)

# The tables a batch grows: analyzed between batches when they have doubled (core.table_stats).
GROWN_BY_APPLY = (
    LineageEvent, Job, Run, Dataset, DatasetSymlink, DatasetField, ColumnEdge, LineageEdge, Classification, AuditEvent,
)  # fmt: skip


@dataclass
class BatchOutcome:
    event_ids: list[int]
    counts: dict[str, int]
    dataset_ids: set[int]
    added_edges: set[tuple[int, int]]


@dataclass
class ApplyReport:
    """What one lineage_apply_pending call did: its batches, and the events it refused (id -> why)."""

    batches: list[BatchOutcome] = field(default_factory=list)
    refused: dict[int, Exception] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return sum(len(b.event_ids) for b in self.batches) + len(self.refused)

    def batch_of(self, event_id: int) -> BatchOutcome | None:
        return next((b for b in self.batches if event_id in b.event_ids), None)


def lineage_apply_pending(
    *,
    max_batch: int | None = None,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    gather: float = 0.0,
) -> ApplyReport | None:
    """Apply every waiting event, in batches of max_batch (KEEL_LINEAGE_APPLY_BATCH), or stop after about
    max_seconds or max_batches batches. None when another applier holds the lease. `gather`: seconds a
    small batch may wait for more events first (the worker's; see _gathered)."""
    holder = queue.new_holder()
    if not queue.lease_acquire(holder):
        return None
    size = max_batch or settings.KEEL_LINEAGE_APPLY_BATCH
    report = ApplyReport()
    started, batches = time.monotonic(), 0
    try:
        while (max_seconds is None or time.monotonic() - started < max_seconds) and (
            max_batches is None or batches < max_batches
        ):
            ids = queue.pending_ids(size)
            if ids and gather > 0:
                ids = _gathered(ids, size, gather)
            if not ids:
                break
            _apply_isolating(ids, report)
            batches += 1
            analyze_grown(GROWN_BY_APPLY)
            if not queue.lease_renew(holder, applied=True):
                log.warning("lineage apply: the lease expired during a batch; stopping (%s)", holder)
                break
    finally:
        queue.lease_release(holder)
    return report


GATHER_POLL_SECONDS = 0.02
# A batch is worth its fixed cost once this fraction of a full batch waits. On SQLite a batch holds the one write
# lock every POST's insert waits for, so fewer, larger batches stall the POSTs less in all (fan-out 10,000:
# 534-573 events/s at a quarter, 556-586 at a half; realistic 3,000: 380-388 against 411-412). On PostgreSQL
# the applier runs beside the POSTs and is the slower of the two, so waiting longer only idles it (realistic
# 3,000 / fan-out 2,000: 422-427 / 619-635 at a quarter, 400-410 / 536-603 at a half). Session 11, quiet machine.
GATHER_FRACTION = {"sqlite": 0.5}
GATHER_FRACTION_DEFAULT = 0.25


def gather_target(size: int) -> int:
    """How many waiting events make a batch worth applying without waiting for more (see GATHER_FRACTION)."""
    return max(1, int(size * GATHER_FRACTION.get(connection.vendor, GATHER_FRACTION_DEFAULT)))


def _gathered(ids: list[int], size: int, gather: float) -> list[int]:
    """The waiting events once a batch is worth its fixed cost: at least gather_target(size) of them, or
    whatever waits once no more arrive (a poll finds no new event) or `gather` seconds have passed. A batch
    costs a fixed ~35 queries, the PII propagation and an audit append besides its events (~12 ms in all on
    SQLite), so an applier that keeps up with a steady stream of POSTs, taking each batch as soon as a
    handful of events wait, spent several times more CPU per event than on full batches (CPU the web process
    needs on a shared machine) and, on SQLite, held the one write lock the POSTs wait for longer per event.
    A stream that pauses or ends is applied at once, not after `gather`. Only the worker waits: a request
    applying inline never does."""
    deadline = time.monotonic() + gather
    enough = gather_target(size)
    while len(ids) < enough and time.monotonic() < deadline:
        time.sleep(min(GATHER_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        arrived, ids = ids, queue.pending_ids(size)
        if len(ids) <= len(arrived):
            break  # nothing new since the last look: the stream paused or ended
    return ids


def _apply_isolating(ids: list[int], report: ApplyReport, *, retried: bool = False) -> None:
    """Apply a batch; when one of its events makes it fail, apply its events one by one to find it."""
    try:
        report.batches.append(apply_batch(ids, report))
    except OperationalError:
        raise  # the database, not the events: nothing is marked, the next run retries
    except Exception as exc:  # any error an event's content causes is that event's
        if len(ids) > 1:
            for event_id in ids:
                _apply_isolating([event_id], report)
        elif isinstance(exc, IntegrityError) and not retried:
            # Someone else wrote the same row meanwhile (e.g. a dataset registered by hand): read again.
            _apply_isolating(ids, report, retried=True)
        else:
            _refuse(ids[0], exc, report)


def apply_batch(ids: list[int], report: ApplyReport) -> BatchOutcome:
    with collector_paused():
        return _apply_batch(ids, report)


def _apply_batch(ids: list[int], report: ApplyReport) -> BatchOutcome:
    # Read and plan the events before the transaction: a stored event never changes, and the lease makes
    # this the only applier. On SQLite the transaction holds the one write lock every POST's insert
    # waits for, so the lock is held only while the batch writes.
    waiting = LineageEvent.objects.order_by().filter(applied_at__isnull=True)  # sorted by id below
    events = sorted((e for chunk in chunks(ids) for e in waiting.filter(pk__in=chunk)), key=lambda e: e.pk)
    _attach_senders(events)
    writer = BatchWriter(events, now=timezone.now())
    with transaction.atomic():
        now = writer.now = timezone.now()
        writer.apply()
        refused = dict(writer.refused)
        applied = [e for e in events if e.pk not in refused]
        touch(LineageEvent, "applied_at", now, [e.pk for e in applied])
        for event in events:
            if event.pk in refused:
                _mark_refused(event, refused[event.pk], now)
        entries = [_refused_entry(e, refused[e.pk]) for e in events if e.pk in refused]
        if applied:
            entries.append(_applied_entry(applied, writer.counts))
        audit.record_many(entries)
        lineage_changed.send(sender=LineageEvent, dataset_ids=set(writer.changed), added_edges=set(writer.added_edges))
        events_applied.send(sender=LineageEvent, events=applied)
    report.refused.update(refused)
    return BatchOutcome([e.pk for e in applied], writer.counts, set(writer.changed), set(writer.added_edges))


def _attach_senders(events: list[LineageEvent]) -> None:
    """Each event's received_by, read once per sender (a batch has few) instead of joined per event."""
    user_ids = {e.received_by_id for e in events if e.received_by_id is not None}
    users = {u.pk: u for u in get_user_model().objects.order_by().filter(pk__in=user_ids)} if user_ids else {}
    field = LineageEvent._meta.get_field("received_by")
    for event in events:
        field.set_cached_value(event, users.get(event.received_by_id))


def _refuse(event_id: int, exc: Exception, report: ApplyReport) -> None:
    with transaction.atomic():
        event = LineageEvent.objects.select_related("received_by").filter(pk=event_id, applied_at__isnull=True).first()
        if event is None:
            return
        if not isinstance(exc, LineageEventInvalid | DomainError):
            log.exception("lineage apply: event %s could not be applied", event_id, exc_info=exc)
        _mark_refused(event, exc, timezone.now())
        audit.record_many([_refused_entry(event, exc)])
    report.refused[event_id] = exc


def reason(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or exc) or type(exc).__name__


def _mark_refused(event: LineageEvent, exc: Exception, now) -> None:
    event.applied_at, event.apply_error = now, reason(exc)[:2000]
    event.save(update_fields=["applied_at", "apply_error"])


def _sender(event: LineageEvent) -> str:
    return event.received_by.get_username() if event.received_by is not None else ""


def _applied_entry(events: list[LineageEvent], counts: dict[str, int]) -> dict:
    senders: dict[str, list[int]] = {}
    for event in events:
        senders.setdefault(_sender(event), []).append(event.pk)
    users = {e.received_by_id for e in events}
    actor = events[0].received_by if len(users) == 1 else None  # several senders: Keel applied them
    return audit.entry(
        actor=actor,
        action="lineage.applied",
        obj=events[0],
        after={
            "applied": len(events),
            "sent_by": ", ".join(name or "an anonymous caller" for name in senders),
            "events": [e.pk for e in events],
            "senders": senders,
            "hashes": [e.event_hash for e in events] if len(events) <= 20 else [],
            "counts": {k: counts.get(k, 0) for k in COUNT_KEYS},
        },
    )


def _refused_entry(event: LineageEvent, exc: Exception) -> dict:
    return audit.entry(
        actor=event.received_by,
        action="lineage.refused",
        obj=event,
        after={
            "event_hash": event.event_hash,
            "kind": event.kind,
            "run_id": event.run_id,
            "job": f"{event.job_namespace}/{event.job_name}" if event.job_name else "",
            "reason": reason(exc),
            "code": getattr(exc, "code", ""),
        },
    )


# --- who calls the applier --------------------------------------------------------------------------

INLINE_WAIT_SECONDS = 30.0  # how long a request applying inline waits for a busy applier to reach its event


def apply_through(event: LineageEvent, *, wait: float = INLINE_WAIT_SECONDS) -> BatchOutcome | None:
    """Apply the queue up to and including `event` now (the inline and synchronous paths). Returns the batch
    that applied it, None when another applier did (or still has not, after `wait` seconds). An event
    refused while applied raises its reason (LineageEventInvalid or DomainError)."""
    deadline = time.monotonic() + wait
    while True:
        report = lineage_apply_pending()
        if report is not None:
            if event.pk in report.refused:
                raise report.refused[event.pk]
            if (batch := report.batch_of(event.pk)) is not None:
                return batch
        state = LineageEvent.objects.filter(pk=event.pk).values("applied_at", "apply_error").first()
        if state is None or state["applied_at"] is not None:
            if state is not None and state["apply_error"]:
                raise LineageEventInvalid([state["apply_error"]], code="refused_when_applied")
            return None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def drain(*, max_seconds: float = 240.0) -> int:
    """The worker's run: apply until nothing waits. After releasing the lease it looks once more, so an
    event stored while it was finishing (whose POST found the lease still held) is not left waiting."""
    started, applied = time.monotonic(), 0
    while time.monotonic() - started < max_seconds:
        report = lineage_apply_pending(
            max_seconds=max_seconds - (time.monotonic() - started), gather=settings.KEEL_LINEAGE_APPLY_GATHER_SECONDS
        )
        if report is None:  # another applier is at work, and looks again itself when it is done
            break
        applied += report.applied
        if not queue.pending_ids(1):
            break
    return applied
