"""How services ask a worker for work: by the task's registered name, once the transaction commits.

Services never import tasks (tasks import services), so the dependency runs one way and a task is
only sent for a change that was really stored.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction


def registered_task(name: str):
    """The task registered under `name`. A web process or a management command has not imported the
    apps' tasks modules (only a worker does at start), so import them on first need."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()  # runs the app's autodiscovery of <app>.tasks
    return current_app.tasks[name]


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Queue `task_name` with these arguments after the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: registered_task(task_name).delay(*args, **kwargs))
