"""The entry points of lineage ingest: an OpenLineage event in, stored, and applied now or by a worker.

    lineage_event_post(payload, by)    the POST: store durably (receive.py) and answer; apply inline when
                                       KEEL_LINEAGE_APPLY_INLINE is set, else ask a worker (queue.py)
    lineage_event_ingest(payload, by)  synchronous, in-process (demo seed, tests, commands): store and
                                       apply now, returning what the batch that applied it did

The rules of the graph are in writer.py and edges.py (one home each), the batching and the audit in
apply.py, and who may post, hashing and validation in receive.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ..models import LineageEvent
from . import queue
from .apply import apply_through
from .facets import column_transformations, merge_facets, schema_fields
from .receive import INGEST_ROLES, canonical_hash, receive

__all__ = [
    "INGEST_ROLES",
    "IngestResult",
    "canonical_hash",
    "column_transformations",
    "lineage_event_ingest",
    "lineage_event_post",
    "merge_facets",
    "schema_fields",
]


@dataclass
class IngestResult:
    status: str  # "accepted" | "duplicate"
    event: LineageEvent
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False


def lineage_event_ingest(*, payload: Any, by) -> IngestResult:
    """Store and apply one OpenLineage event now; "duplicate" (nothing written) when it was seen before.
    Raises LineageEventInvalid (or the DomainError of a receiver) when it is refused."""
    received = receive(payload=payload, by=by)
    if received.status == "duplicate":
        return IngestResult("duplicate", received.event, warnings=received.warnings, applied=True)
    return _applied(received, apply_through(received.event))


def lineage_event_post(*, payload: Any, by) -> IngestResult:
    """The POST's work: store the event and answer "accepted" (stored durably), applied or not yet."""
    received = receive(payload=payload, by=by)
    if received.status == "duplicate":
        return IngestResult("duplicate", received.event, warnings=received.warnings, applied=True)
    if settings.KEEL_LINEAGE_APPLY_INLINE:
        return _applied(received, apply_through(received.event))
    queue.schedule_apply()
    return IngestResult("accepted", received.event, warnings=received.warnings)


def _applied(received, batch) -> IngestResult:
    event = received.event
    if batch is None:  # another applier took it, or has not reached it yet
        event.refresh_from_db(fields=["applied_at"])
        return IngestResult("accepted", event, warnings=received.warnings, applied=event.applied_at is not None)
    event.refresh_from_db(fields=["applied_at"])
    return IngestResult("accepted", event, batch.counts, received.warnings, applied=True)
