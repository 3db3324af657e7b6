"""Lineage's reactions to the registry (projects.events): a reference posted before its version was
synced, or before its model had a project, is linked when that changes (pending_links.py).

Receivers run inside the sync's (or the project link's) transaction, so the link, the propagation of
personal data to the version's project and its obligations commit with what caused them. A failure here
is rolled back to a savepoint and logged, never failing the sync itself: the registry's copy is still
right, and the beat check (governance.tasks.check_model_references) retries the links and raises.
"""

from __future__ import annotations

import logging

from django.db import transaction

from projects import events

from .pending_links import pending_links_resolve

log = logging.getLogger(__name__)


def _resolve(names: set[str]) -> None:
    try:
        with transaction.atomic():
            pending_links_resolve(model_names=names)
    except Exception:
        log.exception("linking the lineage datasets that name models %s failed; the beat check retries", sorted(names))


def on_versions_synced(sender, versions, **kwargs) -> None:
    # Once per batch of versions (model_versions_synced: a sync's page), not once per version: one query.
    names = {v.registered_model.name for v in versions}
    if names:
        _resolve(names)


def on_model_linked(sender, model, **kwargs) -> None:
    _resolve({model.name})


def connect() -> None:
    events.model_versions_synced.connect(on_versions_synced, dispatch_uid="governance.lineage.versions_synced")
    events.registered_model_linked.connect(on_model_linked, dispatch_uid="governance.lineage.model_linked")
