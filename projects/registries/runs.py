"""The runs behind model versions: which to fetch in a sync, and what a version keeps of its run.

A run is fetched once: for a version Keel has not stored the run of yet (a new version, or one synced
before Keel read runs), at most RUNS_PER_SYNC a sync, so a registry of thousands of versions catches up
over a few syncs instead of one long one, and a sync that changes nothing makes no run request. A run
the registry no longer has is stored as such, so it is not asked for again. A failure to read a run
does not fail the sync: the versions are still stored, and the runs not read are fetched next time.
"""

from __future__ import annotations

import logging

from projects.models import AuthorSource, ModelVersion, RegisteredModel, Registry

from .adapters.base import RegistryError, RemoteRun, RemoteVersion, Snapshot

log = logging.getLogger(__name__)
RUNS_PER_SYNC = 200


def runs_to_fetch(*, registry: Registry, snapshot: Snapshot, stored: list[ModelVersion] | None = None) -> list[str]:
    """Run ids of the snapshot's versions whose run Keel has not stored, new versions first; one query (of
    the models' names only, when the sync has read its stored versions already: `stored`)."""
    if stored is None:
        rows = ModelVersion.objects.filter(registered_model__registry=registry).values_list(
            "registered_model__name", "version", "run_fetched_id"
        )
    else:
        names = dict(RegisteredModel.objects.filter(registry=registry).values_list("pk", "name")) if stored else {}
        rows = [(names.get(v.registered_model_id), v.version, v.run_fetched_id) for v in stored]
    stored_runs = {(name, version): fetched for name, version, fetched in rows}
    new, known = [], []
    for key, remote in snapshot.versions.items():
        if remote.run_id and stored_runs.get(key) != remote.run_id:
            (known if key in stored_runs else new).append(remote.run_id)
    return list(dict.fromkeys(new + known))[:RUNS_PER_SYNC]


def runs_fetch(
    *, registry: Registry, adapter, snapshot: Snapshot, stored: list[ModelVersion] | None = None
) -> tuple[dict[str, RemoteRun], int]:
    """The runs to store this sync, and how many requests reading them took (0 for an adapter without
    runs, or when every run is stored already)."""
    fetch_run = getattr(adapter, "fetch_run", None)
    if fetch_run is None:
        return {}, 0
    wanted = runs_to_fetch(registry=registry, snapshot=snapshot, stored=stored)
    before = getattr(adapter, "requests_made", 0)
    runs: dict[str, RemoteRun] = {}
    for run_id in wanted:
        try:
            runs[run_id] = fetch_run(run_id)
        except RegistryError as exc:
            # The registry answers versions but not this run now: keep what was read, try the rest later.
            log.warning("sync of %s: could not read run %s (%s); will try again next sync", registry, run_id, exc)
            break
    return runs, max(0, getattr(adapter, "requests_made", 0) - before)


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
