"""Registry sync: pull a full snapshot from one registry and make Keel's copy equal to it.

Idempotent by construction: upserts keyed on (registry, model, version); a value that did not
change is not written; a version the sweep no longer sees is marked deleted, never removed; a
doubled beat tick or a redelivered task finds the registry's running SyncRun and is skipped.
The snapshot is fetched before anything is written, and everything it changes is written in one
transaction with its audit events, so a failed fetch or a killed worker leaves nothing half-done.

Fetching and reading overlap (overlap.py): while the registry's answer is in flight, Keel's stored
copy of the versions is read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, transaction
from django.utils import timezone

from core import audit

from .. import events
from ..models import (
    AIProject,
    DeploymentObservation,
    LinkSource,
    ModelVersion,
    RegisteredModel,
    Registry,
    Signal,
    SyncRun,
    SyncStatus,
)
from .adapters.base import PermanentRegistryError, RegistryError, Snapshot, TransientRegistryError
from .bulk import bulk_insert, bulk_set, bulk_update_changed
from .connect import adapter_for
from .metrics import version_metrics_refresh
from .overlap import fetch_while_reading, stored_versions
from .runs import runs_fetch, version_run_values
from .sync_runs import fail_run as _fail_run
from .sync_runs import start_run as _start_run

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
        snapshot, stored = fetch_while_reading(registry, adapter)
        # The runs of new versions (metrics, author), read before anything is written, like the snapshot.
        runs, run_requests = runs_fetch(registry=registry, adapter=adapter, snapshot=snapshot, stored=stored)
        snapshot = dataclasses.replace(snapshot, requests=snapshot.requests + run_requests)
    except RegistryError as exc:
        _fail_run(run, exc)
        raise
    except (OperationalError, SoftTimeLimitExceeded) as exc:
        # Reading the stored copy met a locked or unreachable database, or the sync ran out of time.
        error = TransientRegistryError(f"Could not read Keel's copy this time: {exc!r}")
        _fail_run(run, error)
        raise error from exc
    except Exception as exc:
        _fail_run(run, PermanentRegistryError(f"Unexpected error while reading the registry: {exc!r}"))
        raise
    try:
        _apply_snapshot(registry=registry, run=run, snapshot=snapshot, runs=runs, stored=stored)
    except (OperationalError, SoftTimeLimitExceeded) as exc:
        # A locked or unreachable database, or a sync that ran out of time: nothing was stored
        # (one transaction), and trying again later may well succeed.
        error = TransientRegistryError(f"Could not store the snapshot this time: {exc!r}")
        _fail_run(run, error)
        raise error from exc
    except Exception as exc:
        _fail_run(run, PermanentRegistryError(f"Could not store the snapshot: {exc!r}"))
        raise
    _refresh_metrics(registry=registry, adapter=adapter, run=run)
    run.refresh_from_db()
    return run


def _refresh_metrics(*, registry: Registry, adapter, run: SyncRun) -> None:
    """The versions' metric rows (metrics.py), after the snapshot committed: metrics that cannot be read or
    stored now are logged and tried again next sync, never a failed sync of versions already stored."""
    try:
        version_metrics_refresh(registry=registry, adapter=adapter, run=run)
    except (RegistryError, OperationalError, SoftTimeLimitExceeded) as exc:
        log.warning("sync of %s: metrics not refreshed (%r); will try again next sync", registry, exc)
    except Exception:  # a defect in the metrics step must not turn a stored sync into a failed task
        log.exception("sync of %s: metrics not refreshed; will try again next sync", registry)


def _version_number(version: str) -> int:
    return int(version) if version.isdigit() else 0


@dataclass
class _Pass:
    """What one application of a snapshot accumulates: its time, its counts and its audit trail."""

    registry: Registry
    snapshot: Snapshot
    now: dt.datetime
    counts: dict = field(
        default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "started": 0, "ended": 0}
    )
    trail: list[dict] = field(default_factory=list)
    runs: dict = field(default_factory=dict)  # run id → RemoteRun read this sync


@transaction.atomic
def _apply_snapshot(
    *, registry: Registry, run: SyncRun, snapshot: Snapshot, runs: dict | None = None, stored: list | None = None
) -> None:
    """Make Keel's copy of the registry equal to the snapshot, in bulk.

    Each phase decides in Python what changed, then writes it with a few bulk statements; the
    audit events (one per changed object, in the order of the decisions) are appended in one go
    at the end of the transaction. A no-change sync therefore only reads.
    """
    sync = _Pass(registry=registry, snapshot=snapshot, now=timezone.now(), runs=runs or {})
    models_by_name = _apply_models(sync)
    existing, synced = _apply_versions(sync, models_by_name, stored)
    started = _apply_deployments(sync, existing)
    # One audit event per change, in the order above; object ids are read now that every row has one.
    audit.record_many(sync.trail)
    _finish_run(sync, run)
    _send_events(registry=registry, synced=synced, started=started)


def _projects_by_slug(snapshot: Snapshot) -> dict[str, AIProject]:
    """The projects the snapshot's keel.project tags name, read in one query."""
    return {
        p.slug: p
        for p in AIProject.objects.filter(
            slug__in={m.tags.get(PROJECT_TAG) for m in snapshot.models.values() if m.tags.get(PROJECT_TAG)}
        )
    }


def _apply_models(sync: _Pass) -> dict[str, RegisteredModel]:
    """Registered models: insert the new, update the changed (and re-link by tag), mark the gone deleted.

    Returns every model of the registry by name, saved, for the versions to hang on.
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
    _write_rows(
        sync, RegisteredModel, rows=models_by_name, seen=sync.snapshot.models, new=new_models, changes=model_changes,
        gone_action="registered_model.deleted",
    )  # fmt: skip
    return models_by_name


def _write_rows(sync: _Pass, model, *, rows: dict, seen, new: list, changes: list, gone_action: str) -> None:
    """Write one pass over models or versions in bulk: insert the new, update the changed, and mark deleted
    the rows the registry no longer lists (never removed: their deployment history stays), each audited."""
    gone = [local for key, local in rows.items() if key not in seen and local.deleted_at is None]
    for local in gone:
        local.deleted_at = sync.now
        sync.trail.append(audit.entry(actor=None, action=gone_action, obj=local, after={"deleted_at": _j(sync.now)}))
        sync.counts["deleted"] += 1
    bulk_insert(model, new)
    bulk_update_changed(model, changes)
    bulk_set(model, gone, deleted_at=sync.now)


def _model_values(remote) -> dict:
    return {
        "description": remote.description,
        "tags": remote.tags,
        "registry_created_at": remote.created_at,
        "registry_updated_at": remote.updated_at,
    }


def _new_model(sync: _Pass, name: str, remote) -> RegisteredModel:
    """An unsaved model for a name the registry has and Keel has not, with its audit entry."""
    values = _model_values(remote)
    local = RegisteredModel(registry=sync.registry, name=name, first_seen_at=sync.now, **values)
    sync.trail.append(
        audit.entry(actor=None, action="registered_model.created", obj=local, after={"name": name, **_j(values)})
    )
    sync.counts["created"] += 1
    return local


def _changed_model(sync: _Pass, local: RegisteredModel, remote) -> list[str]:
    """Set on `local` what the registry changed (a deleted model that is back is undeleted); the fields."""
    return _take_remote(sync, local, _model_values(remote), action="registered_model.updated")


def _take_remote(sync: _Pass, local, values: dict, *, action: str, brief=lambda d: d) -> list[str]:
    """Set on `local` (a model or a version) the values the registry changed, undeleting a row that is back,
    with one audit entry of what changed (`brief` shortens long values); the changed fields, none if none."""
    changed = {f: v for f, v in values.items() if getattr(local, f) != v}
    if local.deleted_at is not None:
        changed["deleted_at"] = None  # it is back in the registry
    if not changed:
        return []
    before = {f: getattr(local, f) for f in changed}
    for f, v in changed.items():
        setattr(local, f, v)
    sync.trail.append(
        audit.entry(actor=None, action=action, obj=local, before=_j(brief(before)), after=_j(brief(changed)))
    )
    sync.counts["updated"] += 1
    return list(changed)


def _version_values(sync: _Pass, remote, local: ModelVersion | None) -> dict:
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
        "raw": _j(remote.raw),
        **version_run_values(remote, local, sync.runs),
    }


def _apply_versions(sync: _Pass, models_by_name: dict, stored: list | None) -> tuple[dict, list[ModelVersion]]:
    """Model versions: insert the new, update the changed, mark the gone deleted.

    `stored` is Keel's copy of the versions, read while the snapshot was fetched (None: read it now).
    Returns every version of the registry by (model name, version), and the created or changed
    ones (whose governance must be told).
    """
    models_by_id = {m.pk: m for m in models_by_name.values() if m.pk is not None}
    existing = {}
    for v in stored_versions(sync.registry) if stored is None else stored:
        model = models_by_id.get(v.registered_model_id)
        if model is not None:
            v.registered_model = model  # the row read in this transaction, not a second copy
            existing[(model.name, v.version)] = v
    synced: list[ModelVersion] = []
    new_versions: list[ModelVersion] = []
    version_changes: list[tuple[ModelVersion, list[str]]] = []
    for key, remote in sync.snapshot.versions.items():
        local = existing.get(key)
        if local is None:
            local = _new_version(sync, models_by_name[remote.model_name], remote)
            existing[key] = local
            new_versions.append(local)
            synced.append(local)
            continue
        changed = _changed_version(sync, local, remote)
        if changed:
            version_changes.append((local, changed))
            synced.append(local)
    _write_rows(
        sync, ModelVersion, rows=existing, seen=sync.snapshot.versions, new=new_versions, changes=version_changes,
        gone_action="model_version.deleted",
    )  # fmt: skip
    return existing, synced


def _new_version(sync: _Pass, model: RegisteredModel, remote) -> ModelVersion:
    """An unsaved version the registry has and Keel has not, with its audit entry."""
    values = _version_values(sync, remote, None)
    local = ModelVersion(
        registered_model=model,
        version=remote.version,
        version_number=_version_number(remote.version),
        first_seen_at=sync.now,
        **values,
    )
    sync.trail.append(
        audit.entry(
            actor=None,
            action="model_version.created",
            obj=local,
            after={"model": remote.model_name, "version": remote.version, **_j(_brief(values))},
        )
    )
    sync.counts["created"] += 1
    return local


def _changed_version(sync: _Pass, local: ModelVersion, remote) -> list[str]:
    """Set on `local` what the registry changed (a deleted version that is back is undeleted); the fields."""
    changed = _take_remote(
        sync, local, _version_values(sync, remote, local), action="model_version.updated", brief=_brief
    )
    if not changed:
        sync.counts["unchanged"] += 1
    return changed


def _wanted_signals(snapshot: Snapshot, existing: dict) -> dict[tuple, ModelVersion]:
    """What should be open now: (signal, model id, name, version id or None for aliases) → version."""
    wanted: dict[tuple, ModelVersion] = {}
    for remote in snapshot.models.values():
        for alias, version in remote.aliases.items():
            mv = existing.get((remote.name, version))
            if mv is not None:
                wanted[(Signal.ALIAS, mv.registered_model_id, alias, None)] = mv
    for key, remote in snapshot.versions.items():
        mv = existing[key]
        if remote.stage:
            wanted[(Signal.STAGE, mv.registered_model_id, remote.stage, mv.pk)] = mv
        if remote.approval:
            wanted[(Signal.APPROVAL, mv.registered_model_id, remote.approval, mv.pk)] = mv
    return wanted


def _apply_deployments(sync: _Pass, existing: dict) -> list[DeploymentObservation]:
    """Deployment signals: close the open intervals the snapshot no longer shows, open the new ones.

    Returns the intervals opened (whose governance must be told).
    """
    wanted = _wanted_signals(sync.snapshot, existing)
    still_open = _end_deployments(sync, wanted)
    started: list[DeploymentObservation] = []
    for key, mv in wanted.items():
        if key in still_open:
            continue
        signal, model_id, name, _ = key
        row = DeploymentObservation(
            registered_model_id=model_id, version=mv, signal=signal, name=name, observed_from=sync.now
        )
        sync.trail.append(
            audit.entry(
                actor=None,
                action="deployment.observed",
                obj=row,
                after={
                    "model": mv.registered_model.name,
                    "version": mv.version,
                    signal: name,
                    "observed_from": _j(sync.now),
                },
            )
        )
        sync.counts["started"] += 1
        started.append(row)
    bulk_insert(DeploymentObservation, started)
    return started


def _end_deployments(sync: _Pass, wanted: dict) -> set:
    """Close the open intervals not wanted any more (before any is opened: an alias may hold one open
    interval at a time); returns the keys of those that stay open."""
    open_rows = DeploymentObservation.objects.filter(
        registered_model__registry=sync.registry, observed_until__isnull=True
    ).select_related("version", "registered_model")
    still_open = set()
    ended: list[DeploymentObservation] = []
    for row in open_rows:
        key = (row.signal, row.registered_model_id, row.name, None if row.signal == Signal.ALIAS else row.version_id)
        if wanted.get(key) is not None and wanted[key].pk == row.version_id:
            still_open.add(key)
            continue
        row.observed_until = sync.now
        ended.append(row)
        sync.trail.append(
            audit.entry(
                actor=None,
                action="deployment.ended",
                obj=row,
                before={"model": row.registered_model.name, "version": row.version.version, row.signal: row.name},
                after={"observed_until": _j(sync.now)},
            )
        )
        sync.counts["ended"] += 1
    bulk_set(DeploymentObservation, ended, observed_until=sync.now)
    return still_open


def _finish_run(sync: _Pass, run: SyncRun) -> None:
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
        requests=sync.snapshot.requests,
    )


def _send_events(*, registry: Registry, synced: list[ModelVersion], started: list[DeploymentObservation]) -> None:
    """Tell governance (sign-off invalidation, "deployed without approval" findings) inside the sync's
    transaction, so what it records commits or rolls back with the sync."""
    for mv in synced:
        events.model_version_synced.send(sender=ModelVersion, version=mv)
    if synced:
        events.model_versions_synced.send(sender=ModelVersion, versions=list(synced))
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


def _brief(values: dict) -> dict:
    """The audit copy of a version: everything but the raw registry payload (kept on the row)."""
    return {k: v for k, v in values.items() if k != "raw"}


_JSON_AS_IS = (str, int, float, bool, type(None))


def _j(value):
    # Most values a sync audits are strings already: they skip json_value's checks (thousands a sync).
    if isinstance(value, _JSON_AS_IS):
        return value
    if isinstance(value, dict):
        return {k: _j(v) for k, v in value.items()}
    return audit.json_value(value)
