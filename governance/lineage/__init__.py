"""OpenLineage ingest: validation against the spec schemas (validation.py, fastschema.py), receiving an
event (receive.py: one insert, then the POST answers), the queue and its one applier at a time (queue.py),
applying waiting events in batches (apply.py, with the graph rules in writer.py and edges.py), the entry
points (ingest.py), reads (selectors.py) and the signal other parts of governance listen to (signals.py)."""
