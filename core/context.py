"""Who and what caused the current write: the HTTP request id or the Celery task id.

Set by core.middleware for requests and by core.celery_signals for tasks; read by the audit trail.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("keel_request_id", default="")
task_id: ContextVar[str] = ContextVar("keel_task_id", default="")
