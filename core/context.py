"""Who and what caused the current write: the HTTP request (and its id) or the Celery task id.

Set by core.middleware for requests and by core.celery_signals for tasks; read by the audit trail.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("keel_request_id", default="")
task_id: ContextVar[str] = ContextVar("keel_task_id", default="")
# The request being served, for writes that reach the audit trail through Django's signals rather than
# a service called with `by=` (the admin's role grants, its schedule edits): its user is the actor.
request = ContextVar("keel_request", default=None)


def current_actor():
    """The signed-in user of the request being served, or None (the system: a command, a task, a shell).

    Read at the moment of the write, so a user authenticated by DRF inside the view (DRF copies it onto
    the Django request) counts as well as a session user."""
    user = getattr(request.get(), "user", None)
    return user if user is not None and user.is_authenticated else None
