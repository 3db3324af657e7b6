"""The runs behind model versions: which to fetch in a sync, and what a version keeps of its run.

A run is fetched once: for a version Keel has not stored the run of yet (a new version, or one synced
before Keel read runs), at most RUNS_PER_SYNC a sync, so a registry of thousands of versions catches up
over a few syncs instead of one long one, and a sync that changes nothing makes no run request. A run
the registry no longer has is stored as such, so it is not asked for again. A failure to read a run
does not fail the sync: the versions are still stored, and the runs not read are fetched next time.
"""

from __future__ import annotations

import logging

from projects.models import AuthorSource, ModelVersion, Registry

from .adapters.base import RegistryError, RemoteRun, RemoteVersion

log = logging.getLogger(__name__)
RUNS_PER_SYNC = 200


def run_wanted(remote: RemoteVersion, local: ModelVersion | None) -> bool:
    """Whether to read the version's run: it names one, and Keel has not stored that run for it."""
    return bool(remote.run_id) and (local is None or local.run_fetched_id != remote.run_id)


class RunReader:
    """Reads the runs of one sync into `runs`: at most RUNS_PER_SYNC, each once, none after a failure;
    `requests` counts the reads (each one request). The sync asks for new versions' runs first, page by
    page as they are stored, then for those of stored versions."""

    def __init__(self, *, registry: Registry, adapter):
        self.registry = registry
        self.fetch_run = getattr(adapter, "fetch_run", None)
        self.runs: dict[str, RemoteRun] = {}
        self.requests = 0
        self.left = RUNS_PER_SYNC if self.fetch_run is not None else 0

    def read(self, run_ids) -> None:
        for run_id in dict.fromkeys(run_ids):
            if self.left <= 0:
                return
            if run_id in self.runs:
                continue
            self.left -= 1
            self.requests += 1
            try:
                self.runs[run_id] = self.fetch_run(run_id)
            except RegistryError as exc:
                # The registry answers versions but not this run now: keep what was read, try the rest later.
                log.warning(
                    "sync of %s: could not read run %s (%s); will try again next sync", self.registry, run_id, exc
                )
                self.left = 0


def run_values(run: RemoteRun) -> dict:
    """The version's fields that come from its run."""
    return {
        "metrics": run.metrics,
        "run_params": run.params,
        "run_params_count": run.params_count if run.found else None,
        "run_status": run.status[:20],
        "run_started_at": run.started_at,
        "run_ended_at": run.ended_at,
        "experiment_id": run.experiment_id,
        "run_user_id": run.user_id[:200],
        "run_fetched_id": run.run_id,
    }


def version_run_values(remote: RemoteVersion, local: ModelVersion | None, runs: dict[str, RemoteRun]) -> dict:
    """What a sync writes on a version from its run and its author: the run's fields when the run was read
    this sync (otherwise what is stored stays), the registry's own metrics where it keeps them on the
    version, and the author: the version's user, else the run's user, else unknown ("")."""
    values: dict = {}
    run = runs.get(remote.run_id) if remote.run_id else None
    if run is not None:
        values.update(run_values(run))
    if remote.metrics is not None:
        values["metrics"] = remote.metrics
    if run is not None:
        run_user = run.user_id
    elif local is not None and remote.run_id and local.run_fetched_id == remote.run_id:
        run_user = local.run_user_id
    else:
        run_user = ""
    if remote.created_by:
        values["created_by"], values["author_source"] = remote.created_by, AuthorSource.REGISTRY
    elif run_user:
        values["created_by"], values["author_source"] = run_user, AuthorSource.RUN
    else:
        values["created_by"], values["author_source"] = "", AuthorSource.UNKNOWN
    return values
