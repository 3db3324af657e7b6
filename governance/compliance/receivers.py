"""Compliance's reaction to lineage ingest (governance/lineage/signals.py).

The receiver runs inside the ingest transaction, so the producer's PII tags, the propagation and
the obligations commit or roll back with the event that caused them: an event asserting an unknown
PII kind is refused as a whole (DomainError → 400), and nothing of it is stored.
"""

from __future__ import annotations

from ..lineage.signals import lineage_changed
from . import services


def on_lineage_changed(sender, dataset_ids, added_edges=(), **kwargs) -> None:
    # Until propagation extends labels over added edges itself, the source of a new edge is recomputed.
    dataset_ids = set(dataset_ids) | {source for source, _ in added_edges or ()}
    if dataset_ids:
        services.lineage_propagate(dataset_ids=dataset_ids)


def connect() -> None:
    lineage_changed.connect(on_lineage_changed, dispatch_uid="governance.compliance.lineage_changed")
