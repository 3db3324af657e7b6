"""Telling the registry what Keel decided: a `keel.signoff=<status>` tag on the model version, for
registries whose connection opted in (`write_back_signoff`).

The services ask for it by task name after their transaction commits (core.queue), so they never
import governance.tasks; the task calls `signoff_write_back` here and owns the retries.
"""

from __future__ import annotations

from core.queue import enqueue_on_commit
from projects.registries.services import model_version_tag_write

from ..models import SignOffRequest

WRITE_BACK_TAG = "keel.signoff"
WRITE_BACK_TASK = "governance.tasks.signoff_write_back"


def write_back_enqueue(request_pk: int) -> None:
    """Queue the write-back of this request's status if its registry opted in (after commit)."""
    request = SignOffRequest.objects.select_related("model_version__registered_model__registry").get(pk=request_pk)
    if request.model_version.registered_model.registry.write_back_signoff:
        enqueue_on_commit(WRITE_BACK_TASK, request_pk)


def signoff_write_back(*, request_pk: int, adapter=None) -> str:
    """Tag the registry's version with the request's present status (called by the write-back task)."""
    request = SignOffRequest.objects.select_related("model_version__registered_model__registry").get(pk=request_pk)
    if not request.model_version.registered_model.registry.write_back_signoff:
        return "disabled"
    model_version_tag_write(
        by=None, version=request.model_version, key=WRITE_BACK_TAG, value=request.status, adapter=adapter
    )
    return request.status
