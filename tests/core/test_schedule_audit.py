"""Edits of the periodic-task schedule in /admin/django_celery_beat/ — add, change, enable/disable (form
and bulk actions), delete — are in the audit trail with the admin as actor; beat's own bookkeeping after
a run (last_run_at, total_run_count) is not an edit and records nothing; the chain still verifies."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from governance.models import AuditEvent
from tests.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db


def head() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def events_since(seq: int) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq)
        .order_by("seq")
        .values_list("action", "actor_repr", "object_type", "object_id", "before", "after")
    )


@pytest.fixture
def task(db):
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name="keel-heartbeat", task="core.tasks.heartbeat", interval=every)


def test_adding_an_interval_in_the_admin_is_audited(admin_client):
    start = head()
    response = admin_client.post(
        "/admin/django_celery_beat/intervalschedule/add/",
        {"every": "15", "period": "minutes", "periodictask_set-TOTAL_FORMS": "0",
         "periodictask_set-INITIAL_FORMS": "0"},
    )  # fmt: skip

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    interval = IntervalSchedule.objects.get(every=15)
    assert events_since(start) == [
        ("schedule.created", "admin", "django_celery_beat.intervalschedule", str(interval.pk), None,
         {"every": 15, "period": "minutes"}),
    ]  # fmt: skip


def test_disabling_and_re_timing_a_task_in_its_admin_form_is_audited(admin_client, task):
    url = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    slower = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    start = head()
    body = admin_form_data(admin_client.get(url))
    body.pop("enabled", None)
    body["interval"] = str(slower.pk)

    response = admin_client.post(url, body)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    [(action, actor, object_type, object_id, before, after)] = events_since(start)
    assert (action, actor, object_type, object_id) == (
        "schedule.updated", "admin", "django_celery_beat.periodictask", str(task.pk),
    )  # fmt: skip
    assert (before["enabled"], after["enabled"]) == (True, False)
    assert (before["interval_id"], after["interval_id"]) == (task.interval_id, slower.pk)
    call_command("verify_audit")


@pytest.mark.parametrize(
    ("action", "enabled_before", "enabled_after"),
    [("disable_tasks", True, False), ("enable_tasks", False, True), ("toggle_tasks", True, False)],
)
def test_the_bulk_enable_disable_and_toggle_actions_are_audited(
    admin_client, task, action, enabled_before, enabled_after
):
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=enabled_before)  # set up without an event
    start = head()

    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/", {"action": action, "_selected_action": [str(task.pk)]}
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.enabled is enabled_after
    assert [(a, actor, b["enabled"], af["enabled"]) for a, actor, _, _, b, af in events_since(start)] == [
        ("schedule.updated", "admin", enabled_before, enabled_after),
    ]


def test_enabling_a_task_already_enabled_records_nothing(admin_client, task):
    start = head()
    admin_client.post(
        "/admin/django_celery_beat/periodictask/", {"action": "enable_tasks", "_selected_action": [task.pk]}
    )
    assert events_since(start) == []


def test_deleting_a_task_in_the_admin_is_audited_with_what_it_was(admin_client, task):
    start = head()
    url = f"/admin/django_celery_beat/periodictask/{task.pk}/delete/"

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    [(action, actor, _, object_id, before, after)] = events_since(start)
    assert (action, actor, object_id, after) == ("schedule.deleted", "admin", str(task.pk), None)
    assert (before["name"], before["task"], before["enabled"]) == ("keel-heartbeat", "core.tasks.heartbeat", True)
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()
    call_command("verify_audit")


def test_beat_recording_a_run_is_not_a_schedule_edit(task):
    """django-celery-beat saves the whole row after each run; only its run bookkeeping changes."""
    from django.utils import timezone

    start = head()
    task.last_run_at = timezone.now()
    task.total_run_count += 1
    task.save()

    assert events_since(start) == []


def test_an_orm_edit_outside_a_request_is_audited_as_the_system(task):
    start = head()
    task.kwargs = '{"reason": "manual"}'
    task.save()

    assert events_since(start) == [
        ("schedule.updated", "system", "django_celery_beat.periodictask", str(task.pk),
         {"kwargs": "{}"}, {"kwargs": '{"reason": "manual"}'}),
    ]  # fmt: skip


def test_beat_installing_config_celerys_schedule_is_audited_once_and_a_restart_records_nothing(db):
    """What beat does at every start (DatabaseScheduler.update_from_dict): the first install is a change of
    the schedule, by the system; installing the same schedule again is not."""
    from celery.schedules import crontab
    from django_celery_beat.schedulers import ModelEntry

    from config.celery import app

    entries = {
        "keel-heartbeat": {"task": "core.tasks.heartbeat", "schedule": 20.0},
        "keel-mark-overdue-reviews": {"task": "governance.tasks.mark_overdue_reviews", "schedule": crontab(hour=2)},
    }
    start = head()
    for name, entry in entries.items():
        ModelEntry.from_entry(name, app=app, **entry)
    installed = events_since(start)
    assert sorted((a, actor, t) for a, actor, t, *_ in installed) == [
        ("schedule.created", "system", "django_celery_beat.crontabschedule"),
        ("schedule.created", "system", "django_celery_beat.intervalschedule"),
        ("schedule.created", "system", "django_celery_beat.periodictask"),
        ("schedule.created", "system", "django_celery_beat.periodictask"),
    ]

    restart = head()
    for name, entry in entries.items():
        ModelEntry.from_entry(name, app=app, **entry)
    assert events_since(restart) == []
