"""Signals from the registry: a synced version's run metrics that its project's monitoring plan names.

The sync stores each version's latest run metrics on the version (`ModelVersion.metrics`:
{"auc": {"value", "timestamp", "step"}}) and sends `model_versions_synced`; for the metrics a plan item of
the version's project names, this records one signal (source "registry") per new (value, timestamp), so a
new run with a breaching metric opens the breach finding like any other source. Metrics no plan names are
not copied: they stay on the version. Runs in a savepoint inside the sync's transaction; a failure is
logged, never failing the sync (the next sync records what was missed, the values being idempotent).
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from projects import events
from projects.models import ModelVersion, RegisteredModel

from ..models import MonitoringPlanItem, SignalSource
from .services import SignalIn, signals_record

log = logging.getLogger(__name__)


def registry_values(version: ModelVersion, *, names: set[str]) -> list[SignalIn]:
    """The version's stored run metrics named in `names`, as signals measured at the metric's timestamp
    (else when the run ended, else now)."""
    out = []
    for name, metric in (version.metrics or {}).items():
        if name not in names or not isinstance(metric, dict):
            continue
        value = metric.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        at = parse_datetime(str(metric.get("timestamp") or "")) or version.run_ended_at or timezone.now()
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        out.append(SignalIn(name, float(value), at, reference=f"run {version.run_id}"[:500]))
    return out


def registry_signals_record(versions: list[ModelVersion]) -> int:
    """Record the planned run metrics of these synced versions (see the module docstring); how many."""
    projects = dict(
        RegisteredModel.objects.filter(
            pk__in={v.registered_model_id for v in versions}, project__isnull=False
        ).values_list("pk", "project_id")
    )
    planned: dict[int, set[str]] = {}
    for project_id, name in MonitoringPlanItem.objects.filter(project_id__in=set(projects.values())).values_list(
        "project_id", "name"
    ):
        planned.setdefault(project_id, set()).add(name)
    recorded = 0
    for version in versions:
        names = planned.get(projects.get(version.registered_model_id), set())
        signals = registry_values(version, names=names) if names else []
        if signals:
            out = signals_record(
                version=version, signals=signals, source=SignalSource.REGISTRY, by=None, check_permission=False
            )
            recorded += len(out.created)
    return recorded


def on_versions_synced(sender, versions, **kwargs) -> None:
    try:
        with transaction.atomic():
            registry_signals_record(list(versions))
    except Exception:
        log.exception("recording registry metrics of %d version(s) as signals failed", len(versions))


def connect() -> None:
    events.model_versions_synced.connect(on_versions_synced, dispatch_uid="governance.monitoring.registry")
