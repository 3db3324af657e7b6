"""Signals the lineage package sends. Receivers run inside the sender's transaction."""

from django.dispatch import Signal

lineage_changed = Signal()  # kwargs: dataset_ids (set[int]) — datasets whose edges, fields or facets changed
