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


@signals.beat_init.connect
def _beat_started(sender=None, **kwargs):
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
