"""Registry sync: pull a full sweep from one registry and make Keel's copy equal to it.

Idempotent by construction: upserts keyed on (registry, model, version); a value that did not
change is not written; a version the sweep no longer sees is marked deleted, never removed; a
doubled beat tick or a redelivered task finds the registry's running SyncRun and is skipped.
Everything a sync changes is written in one transaction with its audit events, so a failed fetch
(at any page) or a killed worker leaves nothing half-done.

Fetching and storing overlap (overlap.py): a helper thread reads the registry page by page while
this thread stores the page before. Until a page brings a version Keel has not stored, nothing needs
writing: pages are compared with Keel's copy (read while the first pages are in flight) outside any
transaction, so a no-change re-sync only reads. From the first new version on, the transaction is
open: the models are written, then each page's new versions with their audit events, as they come;
governance is told of those versions page by page too; the changed and gone versions, the deployment
intervals and governance's reaction to them once the sweep is whole. A version missing from a sweep of
several pages is confirmed gone with the registry first (offset pagination shifts when something is
deleted meanwhile)."""

from __future__ import annotations

import datetime as dt
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, transaction
from django.utils import timezone

from core import audit
from core.bulk_insert import insert_values
from core.collector import collector_paused

from .. import events
from ..models import (
    AIProject,
    DeploymentObservation,
    LinkSource,
    ModelVersion,
    RegisteredModel,
    Registry,
    SyncRun,
    SyncStatus,
)
from .adapters.base import PermanentRegistryError, RegistryError, RemoteModel, Snapshot, TransientRegistryError
from .bulk import BULK_BATCH, bulk_insert, bulk_set, bulk_update_changed
from .connect import adapter_for
from .deployments import apply_deployments
from .metrics import version_metrics_refresh
from .overlap import FetchFailed, PageFeed, open_intervals, stored_versions
from .runs import RunReader, run_wanted, version_run_values
from .sync_runs import fail_run as _fail_run
from .sync_runs import start_run as _start_run
from .syncpass import SyncPass, brief, j, j_parsed, version_number

log = logging.getLogger(__name__)
PROJECT_TAG = "keel.project"


def registry_sync(
    *, registry: Registry, task_id: str = "", adapter=None, attempted_after: dt.datetime | None = None
) -> SyncRun | None:
    """Sync one registry. Returns its SyncRun, or None when another sync of it is running, or (with
    `attempted_after`, from a beat tick) when another task's sync started after that time.

    Raises the adapter's RegistryError after recording it on the SyncRun, so the task can
    decide whether to retry (transient) or give up (permanent).
    """
    run = _start_run(registry, task_id, attempted_after)
    if run is None:
        log.info("sync of %s skipped: another sync is running or already served this tick", registry)
        return None
    try:
        adapter = adapter or adapter_for(registry)
    except RegistryError as exc:
        _fail_run(run, exc)
        raise
    with collector_paused():
        feed = PageFeed(adapter)
        try:
            stored = _read_stored(registry, run)
            versions = _store_recorded(registry=registry, run=run, feed=feed, adapter=adapter, stored=stored)
        finally:
            feed.close()
        _refresh_metrics(registry=registry, adapter=adapter, run=run, versions=versions)
        # Let go of the sweep's objects while the collector is still off: reference counting frees them here.
        # Alive past the block, they are all walked by the first collection after it (a 2,000-version sync
        # leaves tens of thousands of containers young), in the sync's time.
        del stored, versions
    run.refresh_from_db()
    return run


def _read_stored(registry: Registry, run: SyncRun) -> tuple[list, list]:
    """Keel's copy of the versions and its open deployment intervals, read while the first pages are in
    flight; a failure is recorded on the run."""
    try:
        versions = stored_versions(registry)
        return versions, open_intervals(registry, versions)
    except (OperationalError, SoftTimeLimitExceeded) as exc:
        # Reading the stored copy met a locked or unreachable database, or the sync ran out of time.
        error = TransientRegistryError(f"Could not read Keel's copy this time: {exc!r}")
        _fail_run(run, error)
        raise error from exc
    except Exception as exc:
        _fail_run(run, PermanentRegistryError(f"Unexpected error while reading Keel's copy: {exc!r}"))
        raise


def _store_recorded(*, registry: Registry, run: SyncRun, feed: PageFeed, adapter, stored: tuple) -> list | None:
    """_apply_snapshot, with what went wrong recorded on the run: the registry's own error as it is, a
    passing database trouble or the time limit as transient, anything else as permanent."""
    try:
        return _apply_snapshot(registry=registry, run=run, feed=feed, adapter=adapter, stored=stored)
    except RegistryError as exc:
        _fail_run(run, exc)
        raise
    except FetchFailed as exc:
        _fail_run(run, PermanentRegistryError(f"Unexpected error while reading the registry: {exc.error!r}"))
        raise exc.error from None
    except (OperationalError, SoftTimeLimitExceeded) as exc:
        # A locked or unreachable database, or a sync that ran out of time: nothing was stored
        # (one transaction), and trying again later may well succeed.
        error = TransientRegistryError(f"Could not store the snapshot this time: {exc!r}")
        _fail_run(run, error)
        raise error from exc
    except Exception as exc:
        _fail_run(run, PermanentRegistryError(f"Could not store the snapshot: {exc!r}"))
        raise


def _refresh_metrics(*, registry: Registry, adapter, run: SyncRun, versions: list | None = None) -> None:
    """The versions' metric rows (metrics.py), after the snapshot committed: metrics that cannot be read or
    stored now are logged and tried again next sync, never a failed sync of versions already stored."""
    try:
        version_metrics_refresh(registry=registry, adapter=adapter, run=run, versions=versions)
    except (RegistryError, OperationalError, SoftTimeLimitExceeded) as exc:
        log.warning("sync of %s: metrics not refreshed (%r); will try again next sync", registry, exc)
    except Exception:  # a defect in the metrics step must not turn a stored sync into a failed task
        log.exception("sync of %s: metrics not refreshed; will try again next sync", registry)


def _apply_snapshot(*, registry: Registry, run: SyncRun, feed, adapter=None, stored: tuple | None = None) -> list:
    """Make Keel's copy of the registry equal to the sweep the feed brings, page by page.

    The pages are compared with Keel's copy as they come; the transaction opens at the first page with a
    version Keel has not stored (or once the sweep is whole), then _store writes the rest. Each step
    decides in Python what changed, then writes it with a few bulk statements; the audit events (one per
    changed object) are appended with each page's new versions and once more at the end. Returns every
    version of the registry as stored now, each with its model (for the metrics step). `stored`: the
    versions and open deployment intervals _read_stored read (None: read here)."""
    sync = SyncPass(registry=registry, snapshot=Snapshot(models={}, versions={}), now=timezone.now())
    sync.reader = RunReader(registry=registry, adapter=adapter)
    sync.runs = sync.reader.runs
    versions, sync.open_intervals = (stored_versions(registry), None) if stored is None else stored
    for v in versions:
        sync.existing[(v.registered_model_name, v.version)] = v
    pages = iter(feed)
    for page in pages:
        _take_page(sync, page)
        if sync.new_versions:
            break
    _store(sync, run=run, pages=pages, adapter=adapter)
    return list(sync.existing.values())


@transaction.atomic
def _store(sync: SyncPass, *, run: SyncRun, pages, adapter) -> None:
    _apply_models(sync)
    _insert_new_versions(sync)
    for page in pages:  # store page n while the helper thread fetches page n+1
        _take_page(sync, page)
        _insert_new_versions(sync)
    _confirm_missing(sync, adapter)
    sync.reader.read(sync.snapshot.versions[key].run_id for key in sync.deferred)
    for key in sync.deferred:
        _compare_version(sync, sync.existing[key], sync.snapshot.versions[key])
    sync.trail.extend(sync.version_trail)
    bulk_update_changed(ModelVersion, sync.version_changes)
    seen_models = sync.snapshot.models.keys() | {name for name, _ in sync.snapshot.versions}
    _mark_gone(sync, ModelVersion, sync.existing, seen=sync.snapshot.versions, action="model_version.deleted")
    _mark_gone(sync, RegisteredModel, sync.models_by_name, seen=seen_models, action="registered_model.deleted")
    started = apply_deployments(sync)
    audit.record_many(sync.trail)
    _finish_run(sync, run)
    _send_events(registry=sync.registry, synced=sync.synced, started=started)


def _take_page(sync: SyncPass, page) -> None:
    """Take one page of the sweep: its models, and each version once (offsets that shifted may repeat
    one): a new one waits for the transaction, a stored one is compared now (or, when its run is still
    to be read, once the new versions' runs have been)."""
    if page.models is not None:
        sync.snapshot.models.update(page.models)
    sync.requests += page.requests
    sync.offset_paged = sync.offset_paged or page.offset_paged
    versions = sync.snapshot.versions
    for key, remote in page.versions.items():
        if key in versions:
            continue
        versions[key] = remote
        local = sync.existing.get(key)
        if local is None:
            sync.new_versions.append(remote)
        elif sync.reader.left > 0 and run_wanted(remote, local):
            sync.deferred.append(key)
        else:
            _compare_version(sync, local, remote)


def _compare_version(sync: SyncPass, local: ModelVersion, remote) -> None:
    """Set on `local` what the registry changed (a deleted version that is back is undeleted), to be
    written at the end with its audit entry."""
    values = _version_values(sync, remote, local)
    changed = _take_remote(sync, local, values, action="model_version.updated", brief=brief, trail=sync.version_trail)
    if changed:
        sync.version_changes.append((local, changed))
        sync.synced.append(local)
    else:
        sync.counts["unchanged"] += 1


def _insert_new_versions(sync: SyncPass) -> None:
    """Insert the versions the pages so far brought that Keel has not stored (their runs read first), and
    append the audit events pending so far (the models' first, then these versions')."""
    if not sync.new_versions:
        return
    sync.reader.read(remote.run_id for remote in sync.new_versions if remote.run_id)
    rows, models, entries = [], [], []
    for remote in sync.new_versions:
        models.append(_model_for(sync, remote.model_name))
        row, entry = _new_version(sync, models[-1], remote)
        rows.append(row)
        entries.append(entry)
    sync.new_versions = []
    new = insert_values(ModelVersion, rows, batch_size=BULK_BATCH)
    cache_model = ModelVersion.registered_model.field.set_cached_value
    for local, model, entry in zip(new, models, entries, strict=True):
        cache_model(local, model)
        entry["obj"] = local
        sync.existing[(model.name, local.version)] = local
    audit.record_many(sync.trail)
    sync.trail = []
    # Governance reacts to each page's new versions as they are stored, while the next page is fetched.
    _send_versions_synced(new)


def _confirm_missing(sync: SyncPass, adapter) -> None:
    """Ask the registry about each stored version a sweep of several pages did not list, while its model is
    still listed: a deletion elsewhere during the sweep shifts MLflow's offsets, so a version can slip past a
    page boundary. One that is still there is compared as any other; the others are gone."""
    fetch_version = getattr(adapter, "fetch_version", None)
    if not sync.offset_paged or fetch_version is None:
        return
    for key, local in list(sync.existing.items()):
        if key in sync.snapshot.versions or local.deleted_at is not None or key[0] not in sync.snapshot.models:
            continue
        sync.requests += 1
        remote = fetch_version(*key)
        if remote is not None:
            sync.snapshot.versions[key] = remote
            _compare_version(sync, local, remote)


def _projects_by_slug(snapshot: Snapshot) -> dict[str, AIProject]:
    """The projects the snapshot's keel.project tags name, read in one query."""
    return {
        p.slug: p
        for p in AIProject.objects.filter(
            slug__in={m.tags.get(PROJECT_TAG) for m in snapshot.models.values() if m.tags.get(PROJECT_TAG)}
        )
    }


def _apply_models(sync: SyncPass) -> None:
    """Registered models: insert the new, update the changed (and re-link by tag); the gone are marked at
    the end, once the versions' pages have named every model they hang on.

    Leaves every model of the registry by name, saved, in `sync.models_by_name`, and attaches them to the
    stored versions.
    """
    projects_by_slug = _projects_by_slug(sync.snapshot)
    models_by_name = {m.name: m for m in RegisteredModel.objects.filter(registry=sync.registry)}
    new_models: list[RegisteredModel] = []
    model_changes: list[tuple[RegisteredModel, list[str]]] = []
    for name, remote in sync.snapshot.models.items():
        local = models_by_name.get(name)
        if local is None:
            local = _new_model(sync, name, remote)
            models_by_name[name] = local
            new_models.append(local)
            changed_fields: list[str] = []
        else:
            changed_fields = _changed_model(sync, local, remote)
        link = _link_by_tag(local, remote.tags.get(PROJECT_TAG, ""), projects_by_slug)
        if link is not None:
            sync.trail.append(link)
            changed_fields += ["project", "link_source"]
        if changed_fields and local.pk is not None:
            model_changes.append((local, changed_fields))
    bulk_insert(RegisteredModel, new_models)
    bulk_update_changed(RegisteredModel, model_changes)
    sync.models_by_name = models_by_name
    models_by_id = {m.pk: m for m in models_by_name.values()}
    # The row read in this transaction, not a second copy; cached as the descriptor would (the id is equal),
    # without its checks on each of thousands of versions.
    cache_model = ModelVersion.registered_model.field.set_cached_value
    for key, v in list(sync.existing.items()):
        model = models_by_id.get(v.registered_model_id)
        if model is None:
            del sync.existing[key]
        else:
            cache_model(v, model)


def _model_for(sync: SyncPass, name: str) -> RegisteredModel:
    """The model a version hangs on; one the model search did not return (created between the two calls)
    is created bare, so no version is ever orphaned."""
    model = sync.models_by_name.get(name)
    if model is None:
        remote = sync.snapshot.models.setdefault(name, RemoteModel(name=name))
        model = sync.models_by_name[name] = _new_model(sync, name, remote)
        bulk_insert(RegisteredModel, [model])
    return model


def _mark_gone(sync: SyncPass, model, rows: dict, *, seen, action: str) -> None:
    """Mark deleted the rows the registry no longer lists (never removed: their deployment history stays),
    each audited."""
    gone = [local for key, local in rows.items() if key not in seen and local.deleted_at is None]
    for local in gone:
        local.deleted_at = sync.now
        sync.trail.append(audit.entry(actor=None, action=action, obj=local, after={"deleted_at": j(sync.now)}))
        sync.counts["deleted"] += 1
    bulk_set(model, gone, deleted_at=sync.now)


def _model_values(remote) -> dict:
    return {
        "description": remote.description,
        "tags": remote.tags,
        "registry_created_at": remote.created_at,
        "registry_updated_at": remote.updated_at,
    }


def _new_model(sync: SyncPass, name: str, remote) -> RegisteredModel:
    """An unsaved model for a name the registry has and Keel has not, with its audit entry."""
    values = _model_values(remote)
    local = RegisteredModel(registry=sync.registry, name=name, first_seen_at=sync.now, **values)
    sync.trail.append(
        audit.entry(actor=None, action="registered_model.created", obj=local, after={"name": name, **j(values)})
    )
    sync.counts["created"] += 1
    return local


def _changed_model(sync: SyncPass, local: RegisteredModel, remote) -> list[str]:
    """Set on `local` what the registry changed (a deleted model that is back is undeleted); the fields."""
    return _take_remote(sync, local, _model_values(remote), action="registered_model.updated")


def _take_remote(sync: SyncPass, local, values: dict, *, action: str, brief=lambda d: d, trail=None) -> list[str]:
    """Set on `local` (a model or a version) the values the registry changed, undeleting a row that is back,
    with one audit entry of what changed (`brief` shortens long values) on `trail` (the sync's, by default);
    the changed fields, none if none."""
    changed = {f: v for f, v in values.items() if getattr(local, f) != v}
    if local.deleted_at is not None:
        changed["deleted_at"] = None  # it is back in the registry
    if not changed:
        return []
    before = {f: getattr(local, f) for f in changed}
    for f, v in changed.items():
        setattr(local, f, v)
    (sync.trail if trail is None else trail).append(
        audit.entry(actor=None, action=action, obj=local, before=j(brief(before)), after=j(brief(changed)))
    )
    sync.counts["updated"] += 1
    return list(changed)


def _version_values(sync: SyncPass, remote, local: ModelVersion | None) -> dict:
    """What the version should hold: the registry's record, and (runs.py) its run and author."""
    return {
        "run_id": remote.run_id,
        "source": remote.source,
        "status": remote.status,
        "description": remote.description,
        "tags": remote.tags,
        "registry_created_at": remote.created_at,
        "registry_updated_at": remote.updated_at,
        "stage": remote.stage,
        "approval": remote.approval,
        # A stored record equal to the registry's is JSON already: no need to check that JSON can write it.
        "raw": local.raw if local is not None and local.raw == remote.raw else j_parsed(remote.raw),
        **version_run_values(remote, local, sync.runs),
    }


def _new_version(sync: SyncPass, model: RegisteredModel, remote) -> tuple[dict, dict]:
    """A version the registry has and Keel has not, as a row to insert ({field: value}), with its audit
    entry (on the trail, in order; its object is set once the row is inserted)."""
    values = _version_values(sync, remote, None)
    entry = audit.entry(
        actor=None,
        action="model_version.created",
        after={"model": remote.model_name, "version": remote.version, **j(brief(values))},
    )
    sync.trail.append(entry)
    sync.counts["created"] += 1
    row = {
        "registered_model_id": model.pk,
        "version": remote.version,
        "version_number": version_number(remote.version),
        "first_seen_at": sync.now,
        **values,
    }
    return row, entry


def _finish_run(sync: SyncPass, run: SyncRun) -> None:
    """Close the SyncRun as succeeded, with what this pass counted."""
    counts = sync.counts
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncStatus.SUCCEEDED,
        finished_at=timezone.now(),
        created=counts["created"],
        updated=counts["updated"],
        deleted=counts["deleted"],
        unchanged=counts["unchanged"],
        deployments_started=counts["started"],
        deployments_ended=counts["ended"],
        models_seen=len(sync.snapshot.models),
        versions_seen=len(sync.snapshot.versions),
        requests=sync.requests + sync.reader.requests,
    )


def _send_versions_synced(versions: list[ModelVersion]) -> None:
    for mv in versions:
        events.model_version_synced.send(sender=ModelVersion, version=mv)
    if versions:
        events.model_versions_synced.send(sender=ModelVersion, versions=list(versions))


def _send_events(*, registry: Registry, synced: list[ModelVersion], started: list[DeploymentObservation]) -> None:
    """Tell governance (sign-off invalidation, "deployed without approval" findings) inside the sync's
    transaction, so what it records commits or rolls back with the sync: of the versions that changed (the
    new ones were told of page by page), the intervals opened, and that the sync is done."""
    _send_versions_synced(synced)
    for row in started:
        events.deployment_observed.send(sender=DeploymentObservation, observation=row)
    if started:
        events.deployments_observed.send(sender=DeploymentObservation, observations=list(started))
    events.registry_synced.send(sender=Registry, registry=registry)


def _link_by_tag(model: RegisteredModel, slug: str, projects_by_slug: dict) -> dict | None:
    """Follow the registry tag keel.project=<slug>, unless someone linked the model by hand.

    Sets the link on the (saved or not yet saved) model and returns the audit entry of the change,
    or None when the link stays as it is; the caller writes the model.
    """
    if model.link_source == LinkSource.MANUAL:
        return None
    project = projects_by_slug.get(slug) if slug else None
    if project is None and model.link_source != LinkSource.TAG:
        return None
    if model.project_id == (project.pk if project else None):
        return None
    before = {"project": model.project_id, "link_source": model.link_source}
    model.project = project
    model.link_source = LinkSource.TAG if project else LinkSource.NONE
    return audit.entry(
        actor=None,
        action="registered_model.linked" if project else "registered_model.unlinked",
        obj=model,
        before=before,
        after={"project": model.project_id, "link_source": model.link_source},
    )
