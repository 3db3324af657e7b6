"""The queue of received lineage events, the one applier at a time, and how far behind the graph is.

A stored LineageEvent with applied_at null waits to be applied (in id order). The status is what the
API (GET /api/v1/lineage/status) and the pages show: how many wait, how old the oldest is, and when the
last batch was applied.

One applier at a time, on SQLite and PostgreSQL alike: a lease row taken with a conditional UPDATE
(free or expired -> mine), renewed before each batch and released at the end. A worker that dies
holding it blocks the queue only until the lease expires; the next tick or POST takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from core.queue import registered_task

from ..models import LineageApplyLease, LineageEvent

log = logging.getLogger(__name__)

LEASE = "lineage-apply"
# Longer than any batch takes (a 500-event batch applies in well under a second; a 5,000-output event
# in seconds), short enough that a dead worker's lease frees the queue soon.
LEASE_SECONDS = 120


@dataclass(frozen=True)
class QueueStatus:
    pending: int
    oldest_received_at: datetime | None
    last_applied_at: datetime | None = None
    as_of: datetime = field(default_factory=timezone.now)

    @property
    def oldest_age_seconds(self) -> float | None:
        if self.oldest_received_at is None:
            return None
        return max(0.0, (timezone.now() - self.oldest_received_at).total_seconds())

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "pending": self.pending,
            "oldest_received_at": self.oldest_received_at.isoformat() if self.oldest_received_at else None,
            "oldest_age_seconds": self.oldest_age_seconds,
            "last_applied_at": self.last_applied_at.isoformat() if self.last_applied_at else None,
        }


_recent: dict = {"at": 0.0, "status": None}


def queue_status_recent(max_age: float = 1.0) -> QueueStatus:
    """queue_status() at most max_age seconds old (per process): what every POST's answer carries. Counting
    the waiting events on each of a burst's POSTs would cost more the longer the queue got."""
    now = time.monotonic()
    if _recent["status"] is None or now - _recent["at"] > max_age:
        _recent["status"], _recent["at"] = queue_status(), now
    return _recent["status"]


def queue_status() -> QueueStatus:
    """Two reads: the waiting events (through the partial index of unapplied rows), and the lease row's
    last batch time."""
    unapplied = LineageEvent.objects.filter(applied_at__isnull=True)
    waiting = unapplied.aggregate(pending=Count("id"), oldest=Min("received_at"))
    last = LineageApplyLease.objects.filter(name=LEASE).values_list("last_applied_at", flat=True).first()
    return QueueStatus(pending=waiting["pending"], oldest_received_at=waiting["oldest"], last_applied_at=last)


def pending_ids(limit: int) -> list[int]:
    return list(
        LineageEvent.objects.filter(applied_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit]
    )


# --- the lease ------------------------------------------------------------------------------------


def new_holder() -> str:
    """Who holds the lease: host, process, thread, and a random part so two calls never share it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"[:200]


def lease_acquire(holder: str) -> bool:
    """Take the lease if it is free or expired (one conditional UPDATE, outside any batch transaction)."""
    now = timezone.now()
    free = Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    expires = now + timedelta(seconds=LEASE_SECONDS)
    if LineageApplyLease.objects.filter(free, name=LEASE).update(holder=holder, expires_at=expires):
        return True
    if LineageApplyLease.objects.filter(name=LEASE).exists():
        return False
    LineageApplyLease.objects.bulk_create([LineageApplyLease(name=LEASE)], ignore_conflicts=True)
    return bool(LineageApplyLease.objects.filter(free, name=LEASE).update(holder=holder, expires_at=expires))


def lease_renew(holder: str, *, applied: bool = False) -> bool:
    """Extend the lease before a batch; False when it expired and another applier took it."""
    now = timezone.now()
    fields = {"expires_at": now + timedelta(seconds=LEASE_SECONDS)}
    if applied:
        fields["last_applied_at"] = now
    return bool(LineageApplyLease.objects.filter(name=LEASE, holder=holder).update(**fields))


def lease_release(holder: str) -> None:
    LineageApplyLease.objects.filter(name=LEASE, holder=holder).update(holder="", expires_at=None)


def lease_held() -> bool:
    return LineageApplyLease.objects.filter(name=LEASE, expires_at__gte=timezone.now()).exclude(holder="").exists()


# --- scheduling the worker ------------------------------------------------------------------------

TASK = "governance.tasks.apply_lineage"
DEBOUNCE_SECONDS = 0.5  # a burst of POSTs sends one task per half second: the running applier drains all
_state = {"last": 0.0, "trailing": False}
_lock = threading.Lock()


def schedule_apply() -> None:
    """Ask a worker to apply the queue: at most once per DEBOUNCE_SECONDS per process, and a request that
    falls inside that window gets one trailing send at its end, so no stored event waits for the tick.
    Never raises: with the broker down the event stays stored and the beat tick applies it."""
    with _lock:
        wait = _state["last"] + DEBOUNCE_SECONDS - time.monotonic()
        if wait <= 0:
            _state["last"] = time.monotonic()
        elif _state["trailing"]:
            return
        else:
            _state["trailing"] = True
            timer = threading.Timer(wait, _trailing_send)
            timer.daemon = True
            timer.start()
            return
    _send()


def _trailing_send() -> None:
    with _lock:
        _state["trailing"], _state["last"] = False, time.monotonic()
    _send()


def _send() -> None:
    try:
        registered_task(TASK).apply_async(retry=False)
    except Exception:  # any broker failure: the event is stored, the tick catches up
        log.warning("lineage apply: the broker refused the task; the beat tick will apply the queue", exc_info=True)
