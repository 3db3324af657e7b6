"""OpenLineage ingest: validation against the spec schemas (validation.py), the one write path
(ingest.py), reads (selectors.py) and the signal other parts of governance listen to (signals.py)."""
