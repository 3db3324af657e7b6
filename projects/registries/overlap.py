"""The registry sync's fetch and its largest read, overlapped.

While the registry's answer is in flight (a helper thread waits on the HTTP call; adapters speak only
HTTP/boto3, never the database), the sync reads Keel's stored copy of the registry's versions on its own
connection. That read may happen before the sync's transaction: only the sync writes versions, and the
registry's running SyncRun keeps a second sync of it out. What people can change (a model's manual link)
is read inside the transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..models import ModelVersion, Registry
from .adapters.base import Snapshot


def stored_versions(registry: Registry) -> list[ModelVersion]:
    """Keel's copy of the registry's versions (their models are attached inside the transaction)."""
    return list(ModelVersion.objects.filter(registered_model__registry=registry))


def fetch_while_reading(registry: Registry, adapter) -> tuple[Snapshot, list[ModelVersion]]:
    """The registry's snapshot, fetched in a helper thread (adapters speak only HTTP/boto3, never the
    database), and Keel's stored versions, read meanwhile on this thread's connection.

    The helper is not waited for when the read fails: its request ends by its own timeout and its
    answer is dropped, as nothing is written from it."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keel-sync-fetch")
    try:
        pending = pool.submit(adapter.fetch_snapshot)
        stored = stored_versions(registry)
        return pending.result(), stored
    finally:
        pool.shutdown(wait=False)
