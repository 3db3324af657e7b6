"""Celery tasks of projects: they take ids, call one service, and own only the retry policy."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import Registry
from .registries.adapters.base import TransientRegistryError
from .registries.selectors import registries_due
from .registries.sync import registry_sync

log = logging.getLogger(__name__)
# "Never synced", for a tick that found no earlier attempt: any sync since then serves it.
NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@shared_task(
    name="projects.tasks.sync_registry",
    bind=True,
    autoretry_for=(TransientRegistryError,),
    # Bounded: 1 + max_retries attempts in all, with full-jitter exponential backoff (config/settings.py).
    retry_backoff=settings.KEEL_SYNC_RETRY_BACKOFF,
    retry_backoff_max=settings.KEEL_SYNC_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.KEEL_SYNC_MAX_RETRIES,
    # The sync is idempotent (upserts, per-registry lock), so a task whose worker died may run again.
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["projects.tasks.sync_registry"],
)
def sync_registry(self, registry_id: int, last_attempt_seen: str | None = None) -> None:
    """`last_attempt_seen` comes from a beat tick: the start of the registry's last sync as the tick saw
    it (ISO 8601, "" for never). A sync that another task started since then serves this tick too, so
    a tick delivered twice (two beats, or a beat restarted within a window) syncs each registry once.
    Manual syncs leave it out and always run."""
    registry = Registry.objects.filter(pk=registry_id, enabled=True).first()
    if registry is None:
        log.info("registry %s is gone or disabled; nothing to sync", registry_id)
        return
    attempted_after = None
    if last_attempt_seen is not None:
        attempted_after = dt.datetime.fromisoformat(last_attempt_seen) if last_attempt_seen else NEVER
    registry_sync(registry=registry, task_id=self.request.id or "", attempted_after=attempted_after)


@shared_task(
    name="projects.tasks.sync_due_registries",
    ignore_result=True,
    **settings.KEEL_TASK_TIME_LIMITS["projects.tasks.sync_due_registries"],
)
def sync_due_registries() -> None:
    """Beat calls this every tick; it enqueues each enabled registry whose interval has passed."""
    for registry_id, last in registries_due(now=timezone.now()):
        sync_registry.delay(registry_id, last.isoformat() if last else "")
