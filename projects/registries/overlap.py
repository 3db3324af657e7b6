"""The registry sync's fetch and its store, overlapped.

A helper thread reads the registry's sweep page by page (adapters speak only HTTP/boto3, never the
database) into a short queue, while the sync's own thread reads Keel's stored copy of the versions and
then takes each page as it comes: so the registry computes page n+1 while Keel stores page n. The stored
copy may be read before the sync's transaction: only the sync writes versions, and the registry's running
SyncRun keeps a second sync of it out; so may the open deployment intervals, which only the sync writes
too. What people can change (a model's manual link) is read inside the transaction.

An adapter without `fetch_pages` (SageMaker, test doubles) answers its whole snapshot as two pages.
"""

from __future__ import annotations

import queue
import threading

from django.db.models import F

from core.queries import lean

from ..models import DeploymentObservation, ModelVersion, Registry
from .adapters.base import RegistryError, SnapshotPage

DEPTH = 2  # pages fetched ahead of the store at most: the registry is not asked faster than Keel stores
_END = object()


class FetchFailed(Exception):
    """The adapter failed with something other than a RegistryError (a defect): `error` is what it raised."""

    def __init__(self, error: Exception):
        super().__init__(repr(error))
        self.error = error


def stored_versions(registry: Registry) -> list[ModelVersion]:
    """Keel's copy of the registry's versions, each with its model's name as `registered_model_name` (the
    models themselves are attached inside the transaction)."""
    # Made without Model.__init__ (core.queries.lean): a no-change re-sync spends most of its CPU here.
    return list(
        lean(
            ModelVersion.objects.filter(registered_model__registry=registry).annotate(
                registered_model_name=F("registered_model__name")
            )
        )
    )


def open_intervals(registry: Registry, versions: list[ModelVersion] | None = None) -> list[DeploymentObservation]:
    """The registry's open deployment intervals, with their version and model (for their audit entries when
    they end): read with the stored copy, before the transaction, since only the sync writes intervals.

    `versions`: that stored copy (stored_versions), whose instances the intervals take as their versions
    instead of a second read of those rows with their JSON columns decoded (a sixth of a no-change re-sync's
    reading, at 150 open intervals)."""
    rows = DeploymentObservation.objects.filter(registered_model__registry=registry, observed_until__isnull=True)
    if versions is None:
        return list(rows.select_related("version", "registered_model"))
    rows = list(rows.select_related("registered_model"))
    by_pk = {v.pk: v for v in versions}
    if missing := {row.version_id for row in rows} - by_pk.keys():  # none: an interval's version is its model's
        by_pk |= ModelVersion.objects.in_bulk(missing)
    for row in rows:
        row.version = by_pk[row.version_id]
    return rows


def _whole(adapter):
    snapshot = adapter.fetch_snapshot()
    yield SnapshotPage(models=snapshot.models, requests=snapshot.requests)
    yield SnapshotPage(versions=snapshot.versions)


class PageFeed:
    """The adapter's pages, fetched in a helper thread at most DEPTH ahead; iterate to take them in order.

    Iterating raises what the fetch raised, at the page where it failed (a RegistryError as it is,
    anything else as FetchFailed). close() stops the helper: it asks for no further page, and its
    request in flight ends by its own timeout, its answer dropped."""

    def __init__(self, adapter):
        self._queue: queue.Queue = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        pages = getattr(adapter, "fetch_pages", None)
        self._pages = pages if pages is not None else lambda: _whole(adapter)
        self._thread = threading.Thread(target=self._run, name="keel-sync-fetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for page in self._pages():
                if not self._put(page):
                    return
            self._put(_END)
        except RegistryError as exc:
            self._put(exc)
        except Exception as exc:
            self._put(FetchFailed(exc))

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
