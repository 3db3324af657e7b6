"""Lineage's reactions to the registry (projects.events): a reference posted before its version was
synced, or before its model had a project, is linked when that changes (pending_links.py).

Receivers run inside the sync's (or the project link's) transaction, so the link, the propagation of
personal data to the version's project and its obligations commit with what caused them.
"""

from __future__ import annotations

from projects import events

from .pending_links import pending_links_resolve


def on_versions_synced(sender, versions, **kwargs) -> None:
    # Once per sync for all its versions (model_versions_synced), not once per version: one query.
    names = {v.registered_model.name for v in versions}
    if names:
        pending_links_resolve(model_names=names)


def on_model_linked(sender, model, **kwargs) -> None:
    pending_links_resolve(model_names={model.name})


def connect() -> None:
    events.model_versions_synced.connect(on_versions_synced, dispatch_uid="governance.lineage.versions_synced")
    events.registered_model_linked.connect(on_model_linked, dispatch_uid="governance.lineage.model_linked")
