"""How services ask a worker for work: by the task's registered name, once the transaction commits.

Services never import tasks (tasks import services), so the dependency runs one way and a task is
only sent for a change that was really stored.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Queue `task_name` with these arguments after the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: current_app.tasks[task_name].delay(*args, **kwargs))
