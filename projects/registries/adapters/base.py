"""What every registry adapter returns, and how it fails. No ORM here: adapters only speak HTTP/boto3.

An adapter fetches a complete snapshot of one registry (a full sweep), or raises. A snapshot is
either whole or not returned at all, so a broken or partial response can never write anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


class RegistryError(Exception):
    """The registry could not be read. `transient` errors are worth retrying; the others are not."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class TransientRegistryError(RegistryError):
    """Connection refused, timeout, 5xx, 429 or throttling, an answer cut off or not the JSON expected:
    try again later, with backoff (a bounded number of times)."""

    transient = True


class PermanentRegistryError(RegistryError):
    """401/403/404, other refusals, or bad configuration (a missing credential variable): retrying will not help."""


# Kinds of deployment signal a registry gives a version.
SIGNAL_ALIAS = "alias"  # MLflow 3 aliases: champion, production, ... (one version per alias)
SIGNAL_STAGE = "stage"  # MLflow legacy stages: Staging, Production, Archived
SIGNAL_APPROVAL = "approval"  # SageMaker ModelApprovalStatus


@dataclass(frozen=True)
class RemoteVersion:
    model_name: str
    version: str
    run_id: str = ""
    source: str = ""
    status: str = ""
    description: str = ""
    created_by: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # The version's own signals (legacy stage or approval status); aliases are per model.
    stage: str = ""
    approval: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    # Metrics the registry keeps on the version itself (SageMaker's ModelMetrics); None where it keeps
    # them on the run instead (MLflow), so that the run's metrics are not overwritten with nothing.
    metrics: dict[str, dict] | None = None
    # Where `created_by` came from (AUTHOR_* below): "" when the registry named nobody.
    author_source: str = ""


# Where a version's author was read.
AUTHOR_REGISTRY = "registry"  # the version's own user (MLflow 2 user_id, SageMaker CreatedBy)
AUTHOR_RUN = "run"  # the run that produced it (MLflow 3 leaves the version's user_id empty)


@dataclass(frozen=True)
class RemoteRun:
    """The training run behind a version, as much of it as a reviewer needs: its metrics (the latest
    value of each key, with its time and step), a few params, when it ran, where and who ran it."""

    run_id: str
    experiment_id: str = ""
    user_id: str = ""
    status: str = ""
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    metrics: dict[str, dict] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    params_count: int = 0
    found: bool = True  # False: the registry no longer has this run (deleted); stored so it is not asked again


@dataclass(frozen=True)
class RemoteModel:
    name: str
    description: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version


@dataclass(frozen=True)
class Snapshot:
    """Everything one full sweep saw, de-duplicated by (model, version)."""

    models: dict[str, RemoteModel]
    versions: dict[tuple[str, str], RemoteVersion]
    requests: int = 0


@dataclass(frozen=True)
class SnapshotPage:
    """One answer of a sweep, for a sync that stores page n while page n+1 is in flight: the models come
    first (pages with `models` set), then the versions, page by page. `offset_paged` says the versions
    came in more than one offset-paginated page, so a version missing from the sweep may only have
    shifted past a page boundary (something deleted meanwhile) and must be confirmed gone."""

    versions: dict[tuple[str, str], RemoteVersion] = field(default_factory=dict)
    models: dict[str, RemoteModel] | None = None
    requests: int = 0
    offset_paged: bool = False


class RegistryAdapter(Protocol):
    def fetch_snapshot(self) -> Snapshot: ...

    # Optional: adapters that can answer page by page also have `fetch_pages() -> Iterator[SnapshotPage]`
    # (models first, then versions), and `fetch_version(model, version) -> RemoteVersion | None` to
    # confirm that a version missing from a paged sweep is gone.

    # Optional: adapters whose registry keeps metrics and authors on runs (MLflow) also have
    # `fetch_run(run_id) -> RemoteRun` and count its requests in `requests_made`.


def from_epoch_ms(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
