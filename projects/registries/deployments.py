"""A sync's deployment signals: which intervals the sweep shows open, closing the others and opening the new."""

from __future__ import annotations

from core import audit

from ..models import DeploymentObservation, ModelVersion, Signal
from .bulk import bulk_insert, bulk_set
from .overlap import open_intervals
from .syncpass import SyncPass, j


def _wanted_signals(sync: SyncPass) -> dict[tuple, ModelVersion]:
    """What should be open now: (signal, model id, name, version id or None for aliases) → version."""
    snapshot, existing = sync.snapshot, sync.existing
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


def apply_deployments(sync: SyncPass) -> list[DeploymentObservation]:
    """Deployment signals: close the open intervals the snapshot no longer shows, open the new ones.

    Returns the intervals opened (whose governance must be told).
    """
    wanted = _wanted_signals(sync)
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
                    "observed_from": j(sync.now),
                },
            )
        )
        sync.counts["started"] += 1
        started.append(row)
    bulk_insert(DeploymentObservation, started)
    return started


def _end_deployments(sync: SyncPass, wanted: dict) -> set:
    """Close the open intervals not wanted any more (before any is opened: an alias may hold one open
    interval at a time); returns the keys of those that stay open."""
    open_rows = open_intervals(sync.registry) if sync.open_intervals is None else sync.open_intervals
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
                after={"observed_until": j(sync.now)},
            )
        )
        sync.counts["ended"] += 1
    bulk_set(DeploymentObservation, ended, observed_until=sync.now)
    return still_open
