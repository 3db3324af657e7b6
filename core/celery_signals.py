"""Hooks into Celery's process signals: heartbeats for /healthz and the task id for the audit trail."""

from __future__ import annotations

import logging
import os
import socket

from celery import signals
from django.db import close_old_connections

from . import context
from .models import Heartbeat

log = logging.getLogger(__name__)
_in_beat = False


def _record(name: str) -> None:
    from .services import heartbeat_record

    try:
        heartbeat_record(name=name, detail=f"{socket.gethostname()}:{os.getpid()}")
    except Exception:  # a heartbeat must never break the scheduler or the worker
        log.exception("could not record %s heartbeat", name)


def _exit_without_secret_key() -> None:
    # SystemExit, not an exception: Celery logs and swallows exceptions raised by signal receivers.
    from .startup import NO_SECRET_KEY, secret_key_is_set

    if not secret_key_is_set():
        raise SystemExit(f"Keel cannot start: {NO_SECRET_KEY}")


@signals.worker_init.connect
def _worker_starting(sender=None, **kwargs):
    # Tasks write audited data, and the audit chain head is signed with the secret key.
    _exit_without_secret_key()


@signals.beat_init.connect
def _beat_started(sender=None, **kwargs):
    _exit_without_secret_key()
    global _in_beat
    _in_beat = True
    _record(Heartbeat.BEAT)


@signals.after_task_publish.connect
def _beat_ticked(sender=None, **kwargs):
    # Only the beat process counts: a web process enqueueing a task is not a beat tick.
    if _in_beat:
        close_old_connections()
        _record(Heartbeat.BEAT)


@signals.worker_ready.connect
def _worker_ready(sender=None, **kwargs):
    _record(Heartbeat.WORKER)


@signals.task_prerun.connect
def _task_started(task_id=None, **kwargs):
    context.task_id.set(task_id or "")


@signals.task_postrun.connect
def _task_finished(**kwargs):
    context.task_id.set("")
