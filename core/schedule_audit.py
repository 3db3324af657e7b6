"""Edits of the periodic-task schedule (django-celery-beat's rows) in the audit trail.

The schedule is edited in /admin/django_celery_beat/, which saves the rows itself, so the edits are
recorded from the models' signals: a task or a schedule created, changed (enabled, disabled, re-timed,
re-pointed) or deleted, with the admin as the actor, or the system when beat installs config/celery.py's
schedule. Beat also saves a task after each run to keep its `last_run_at` and `total_run_count`: that
bookkeeping is not an edit, so a save that changes nothing else records nothing. The admin's bulk
enable/disable actions update without signals; core/admin.py replaces them with audited saves.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from . import audit
from .context import current_actor

SCHEDULE_MODELS = (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule)
# What beat writes as it runs tasks (and the time of any save): not a change of the schedule.
BOOKKEEPING = frozenset({"id", "last_run_at", "total_run_count", "date_changed"})


def _plain(value):
    value = audit.json_value(value)
    return value if value is None or isinstance(value, str | int | float | bool | list | dict) else str(value)


def schedule_snapshot(row: models.Model) -> dict:
    """The row's schedule-defining columns, JSON-safe (a crontab's time zone as its name)."""
    return {f.attname: _plain(f.value_from_object(row)) for f in row._meta.concrete_fields if f.name not in BOOKKEEPING}


def _before(sender, instance, raw=False, **kwargs):
    instance._keel_schedule_before = None
    if raw or instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).first()
    instance._keel_schedule_before = schedule_snapshot(stored) if stored is not None else None


def _saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before = getattr(instance, "_keel_schedule_before", None)
    instance._keel_schedule_before = None
    after = schedule_snapshot(instance)
    if created or before is None:
        with transaction.atomic():
            audit.record(actor=current_actor(), action="schedule.created", obj=instance, after=after)
        return
    old, new = audit.changes(before, after)
    if new:
        with transaction.atomic():
            audit.record(actor=current_actor(), action="schedule.updated", obj=instance, before=old, after=new)


def _deleted(sender, instance, **kwargs):
    with transaction.atomic():
        audit.record(
            actor=current_actor(),
            action="schedule.deleted",
            object_type=instance._meta.label_lower,
            object_id=str(instance.pk),
            before=schedule_snapshot(instance),
        )


def connect() -> None:
    """Connect the receivers (CoreConfig.ready)."""
    for model in SCHEDULE_MODELS:
        uid = f"core.schedule_audit.{model._meta.model_name}"
        pre_save.connect(_before, sender=model, dispatch_uid=f"{uid}.before")
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}.saved")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}.deleted")
