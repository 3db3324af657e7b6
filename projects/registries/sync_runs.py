"""A sync's SyncRun row: started (one running per registry, the lock; a dead worker's is taken over past
KEEL_SYNC_LOCK_TTL_SECONDS; a doubled beat tick is served once) and failed. sync.py closes it on success."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Registry, SyncRun, SyncStatus
from .adapters.base import RegistryError


class _TickAlreadyServed(Exception):
    """Another task synced the registry after the tick that asked for this sync saw it due."""


def start_run(registry: Registry, task_id: str, attempted_after: dt.datetime | None = None) -> SyncRun | None:
    """Insert the registry's running SyncRun, or return None if another sync holds it.

    A running row older than the lock TTL belongs to a worker that died: it is closed as
    abandoned (its transaction never committed, so it changed nothing) and this sync proceeds.
    With `attempted_after` (a beat tick's view of the last attempt), it also returns None when a sync by
    another task started after that: the check runs after the insert, in its transaction, so of two
    deliveries of one tick either the second's insert meets the first's running row, or its check sees
    the first's finished one. A retry or redelivery of this same task (same id) is not "another".
    """
    ttl = dt.timedelta(seconds=settings.KEEL_SYNC_LOCK_TTL_SECONDS)
    for _ in range(2):
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(registry=registry, task_id=task_id or "")
                if attempted_after is not None and (
                    SyncRun.objects.filter(registry=registry, started_at__gt=attempted_after)
                    .exclude(pk=run.pk)
                    .exclude(task_id=run.task_id)
                    .exists()
                ):
                    raise _TickAlreadyServed
                return run
        except _TickAlreadyServed:
            return None
        except IntegrityError:
            stale = SyncRun.objects.filter(
                registry=registry, status=SyncStatus.RUNNING, started_at__lt=timezone.now() - ttl
            ).update(status=SyncStatus.ABANDONED, finished_at=timezone.now(), error="worker stopped mid-sync")
            if not stale:
                return None
    return None


def fail_run(run: SyncRun, exc: RegistryError) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncStatus.FAILED, finished_at=timezone.now(), error=exc.message[:2000], error_transient=exc.transient
    )
