"""PII classification and propagation along lineage, and the compliance obligations that follow.

taxonomy.py (the kinds and their GDPR class), propagation.py (the pure algorithm), store.py (the
graph read from, and labels written to, the database), rules.py (obligation rules, in one place),
services.py (the writes), selectors.py (the reads), receivers.py (reactions to lineage ingest).
"""
