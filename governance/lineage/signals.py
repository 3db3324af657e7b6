"""Signals the lineage package sends. Receivers run inside the sender's transaction."""

from django.dispatch import Signal

# kwargs:
#   dataset_ids (set[int])  datasets whose facets, fields, model link or existing edges changed in a way
#                           that may remove or weaken a label: their roots are recomputed in full;
#   added_edges (set[tuple[int, int]], optional)  (source dataset id, target dataset id) of dataset or column
#                           edges created by this change: adding an edge only adds or strengthens labels, so
#                           receivers extend what the source already carries over the new edge (cost bound by
#                           the target's downstream, not the source's). A source whose only change is a new
#                           outgoing edge is not in dataset_ids.
lineage_changed = Signal()

# kwargs: events (list[LineageEvent]) applied by one batch, sent inside its transaction after
# lineage_changed. Monitoring reads their data-quality facets (governance/monitoring/quality.py).
events_applied = Signal()
