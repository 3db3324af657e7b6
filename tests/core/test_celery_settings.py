"""The beat schedule's intervals and every task's time limits come from config/settings.py."""

from django.conf import settings

from config.celery import app


def test_the_beat_schedule_ticks_at_the_intervals_settings_define():
    schedule = {name: entry["schedule"] for name, entry in app.conf.beat_schedule.items()}
    assert {name: schedule[name] for name in schedule if isinstance(schedule[name], float)} == {
        "keel-heartbeat": float(settings.KEEL_HEARTBEAT_SECONDS),
        "keel-sync-due-registries": float(settings.KEEL_SYNC_TICK_SECONDS),
        "keel-evaluate-obligations": float(settings.KEEL_OBLIGATIONS_TICK_SECONDS),
        "keel-expire-signoffs": float(settings.KEEL_SIGNOFF_EXPIRY_TICK_SECONDS),
        "keel-apply-lineage": float(settings.KEEL_LINEAGE_APPLY_TICK_SECONDS),
        "keel-sign-audit-checkpoint": float(settings.KEEL_AUDIT_CHECKPOINT_SECONDS),
        "keel-check-stale-signals": float(settings.KEEL_SIGNAL_STALE_TICK_SECONDS),
        "keel-deliver-notifications": float(settings.KEEL_NOTIFY_DELIVER_TICK_SECONDS),
    }


def test_reminders_and_digests_go_out_daily_at_the_configured_hour():
    entry = app.conf.beat_schedule["keel-reminders-and-digests"]
    assert entry["task"] == "governance.tasks.send_reminders_and_digests"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({settings.KEEL_NOTIFY_DIGEST_HOUR}, {0})


def test_every_keel_task_takes_its_time_limits_from_settings():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.split(".")[0] in ("core", "projects", "governance")}
    assert set(tasks) == set(settings.KEEL_TASK_TIME_LIMITS)
    for name, task in tasks.items():
        limits = settings.KEEL_TASK_TIME_LIMITS[name]
        assert (task.soft_time_limit, task.time_limit) == (limits["soft_time_limit"], limits["time_limit"]), name
        assert task.soft_time_limit < task.time_limit, name
    assert settings.KEEL_TASK_TIME_LIMITS["projects.tasks.sync_registry"] == {"soft_time_limit": 240, "time_limit": 300}
