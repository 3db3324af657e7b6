"""What one application of a registry's sweep accumulates, shared by the sync's steps (sync.py,
deployments.py): its time, its counts, its audit trail, and the JSON helpers its audit entries use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core import audit
from core.jsontext import dumps

from ..models import ModelVersion, Registry
from .adapters.base import Snapshot


@dataclass
class SyncPass:
    """One sync's state: the sweep as far as it has come (`snapshot`), Keel's copy by (model name, version)
    (`existing`: stored, then the new ones as they are inserted), what changed, and the audit entries not
    yet appended (`trail`)."""

    registry: Registry
    snapshot: Snapshot
    now: dt.datetime
    counts: dict = field(
        default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "started": 0, "ended": 0}
    )
    trail: list[dict] = field(default_factory=list)
    runs: dict = field(default_factory=dict)  # run id → RemoteRun read this sync (the reader's)
    reader: Any = None  # runs.RunReader
    existing: dict = field(default_factory=dict)
    models_by_name: dict | None = None  # read and written once the transaction is open
    new_versions: list = field(default_factory=list)  # remote versions waiting for the transaction
    deferred: list = field(default_factory=list)  # stored versions whose run is to be read before comparing
    version_changes: list = field(default_factory=list)  # (version, changed fields), written at the end
    version_trail: list[dict] = field(default_factory=list)  # their audit entries, appended after the models'
    synced: list[ModelVersion] = field(default_factory=list)  # changed: governance is told at the end
    open_intervals: list | None = None  # read with the stored copy (overlap.open_intervals); None: read at the end
    offset_paged: bool = False
    requests: int = 0


def version_number(version: str) -> int:
    return int(version) if version.isdigit() else 0


def brief(values: dict) -> dict:
    """The audit copy of a version: everything but the raw registry payload (kept on the row)."""
    return {k: v for k, v in values.items() if k != "raw"}


_JSON_AS_IS = (str, int, float, bool, type(None))
_PLAIN = frozenset(_JSON_AS_IS)


def j(value):
    # Most values a sync audits are strings already: they skip json_value's checks (thousands a sync),
    # and a dict's plain values skip even the call.
    if isinstance(value, _JSON_AS_IS):
        return value
    if isinstance(value, dict):
        return {k: v if v.__class__ in _PLAIN else j(v) for k, v in value.items()}
    return audit.json_value(value)


def j_parsed(value):
    """j(value) for a value that is most likely parsed JSON already (a registry's raw record): the value
    itself when JSON can write it as it is (j would rebuild the same dicts, key by key, in Python)."""
    try:
        dumps(value)
    except (TypeError, ValueError):
        return j(value)
    return value
