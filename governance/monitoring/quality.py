"""OpenLineage data-quality facets → signals on the deployed model versions the dataset feeds.

A dataset document of an applied lineage event (an input or an output) carrying `dataQualityMetrics` or
`dataQualityAssertions` (as an input facet, where the spec puts them, or as a dataset facet) gives values
named `<dataset name>.<metric>`:

    dataQualityMetrics      rowCount, bytes, fileCount, and <column>.nullCount / distinctCount / sum / count /
                            min / max for each column of columnMetrics
    dataQualityAssertions   assertions.failed and assertions.total, and assertion:<name or kind>[.<column>]
                            (1 passed, 0 failed) for each assertion

measured at the event's time, recorded (source "openlineage") on every model version that the dataset, or
a dataset downstream of it (up to MAX_HOPS lineage edges), is linked to and that holds an alias, stage or
approval now. The lineage applier sends `events_applied` inside its transaction; the receiver runs in a
savepoint so a failure here never holds the lineage graph back (it is logged).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import DomainError
from projects.models import DeploymentObservation, ModelVersion

from ..lineage.facets import identity
from ..lineage.signals import events_applied
from ..models import Dataset, LineageEdge, SignalKind, SignalSource
from .services import SignalIn, signals_record

log = logging.getLogger(__name__)

FACETS = ("dataQualityMetrics", "dataQualityAssertions")
COLUMN_METRICS = ("nullCount", "distinctCount", "sum", "count", "min", "max")
MAX_HOPS = 5


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _facet(doc: dict, name: str) -> dict | None:
    for holder in ("inputFacets", "facets"):
        facets = doc.get(holder)
        if isinstance(facets, dict) and isinstance(facets.get(name), dict):
            return facets[name]
    return None


def quality_values(doc: dict) -> list[tuple[str, float]]:
    """(metric, value) pairs from one dataset document's data-quality facets (see the module docstring)."""
    out: list[tuple[str, float]] = []
    metrics = _facet(doc, "dataQualityMetrics")
    if metrics:
        for key in ("rowCount", "bytes", "fileCount"):
            if (v := _number(metrics.get(key))) is not None:
                out.append((key, v))
        columns = metrics.get("columnMetrics")
        for column, values in (columns if isinstance(columns, dict) else {}).items():
            for key in COLUMN_METRICS:
                if isinstance(values, dict) and (v := _number(values.get(key))) is not None:
                    out.append((f"{column}.{key}", v))
    assertions = _facet(doc, "dataQualityAssertions")
    listed = [a for a in (assertions or {}).get("assertions") or [] if isinstance(a, dict)]
    if listed:
        failed = 0
        for a in listed:
            ok = a.get("success") is True
            failed += not ok
            label = str(a.get("name") or a.get("assertion") or "assertion")
            column = f".{a['column']}" if a.get("column") else ""
            out.append((f"assertion:{label}{column}", 1.0 if ok else 0.0))
        out += [("assertions.failed", float(failed)), ("assertions.total", float(len(listed)))]
    return out


def _fed_versions(dataset_ids: set[int]) -> dict[int, set[int]]:
    """{dataset id: ids of model versions it or its downstream (MAX_HOPS edges) is linked to}."""
    reach = {d: {d} for d in dataset_ids}
    frontier = {d: {d} for d in dataset_ids}
    for _ in range(MAX_HOPS):
        current = set().union(*frontier.values()) if frontier else set()
        if not current:
            break
        targets: dict[int, set[int]] = defaultdict(set)
        for source, target in LineageEdge.objects.filter(source_id__in=current).values_list("source_id", "target_id"):
            targets[source].add(target)
        frontier = {d: {t for s in nodes for t in targets.get(s, ())} - reach[d] for d, nodes in frontier.items()}
        for d, new in frontier.items():
            reach[d] |= new
        frontier = {d: new for d, new in frontier.items() if new}
    everything = set().union(*reach.values()) if reach else set()
    linked = dict(
        Dataset.objects.filter(pk__in=everything, model_version__isnull=False).values_list("pk", "model_version_id")
    )
    return {d: {linked[n] for n in nodes if n in linked} for d, nodes in reach.items()}


def signals_from_events(events) -> int:
    """Record the data-quality values of these applied events (see the module docstring); how many."""
    found: list[tuple[object, tuple, list[tuple[str, float]]]] = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        for doc in [*(payload.get("inputs") or []), *(payload.get("outputs") or [])]:
            if isinstance(doc, dict) and any(_facet(doc, f) for f in FACETS):
                values = quality_values(doc)
                if values:
                    found.append((event, identity(doc.get("namespace"), doc.get("name")), values))
    if not found:
        return 0
    wanted = {ident for _, ident, _ in found}
    datasets = {
        (d.namespace, d.name): d
        for d in Dataset.objects.filter(namespace__in={n for n, _ in wanted}, name__in={n for _, n in wanted})
    }
    fed = _fed_versions({d.pk for key, d in datasets.items() if key in wanted})
    deployed = set(
        DeploymentObservation.objects.filter(
            observed_until__isnull=True, version_id__in=set().union(*fed.values()) if fed else set()
        ).values_list("version_id", flat=True)
    )
    versions = ModelVersion.objects.select_related("registered_model__project").in_bulk(deployed)
    recorded = 0
    for event, ident, values in found:
        dataset = datasets.get(ident)
        if dataset is None:
            continue
        measured_at = event.event_time if event.event_time.tzinfo else event.event_time.replace(tzinfo=dt.UTC)
        signals = [
            SignalIn(f"{dataset.name}.{metric}"[:200], value, measured_at, SignalKind.DATA_QUALITY, str(dataset))
            for metric, value in values
        ]
        for version_id in sorted(fed.get(dataset.pk, set()) & deployed):
            version = versions[version_id]
            if version.registered_model.project_id is None:
                continue
            # The event was accepted for its namespaces when posted: that is the authority here.
            try:
                out = signals_record(
                    version=version, signals=signals, source=SignalSource.OPENLINEAGE, by=event.received_by,
                    check_permission=False, reference=event.event_hash,
                )  # fmt: skip
            except (ValidationError, DomainError) as exc:  # e.g. an event time in the future: skip its values
                log.warning("data-quality values of lineage event %s not recorded: %s", event.event_hash, exc)
                continue
            recorded += len(out.created)
    return recorded


def on_events_applied(sender, events, **kwargs) -> None:
    try:
        with transaction.atomic():
            signals_from_events(events)
    except Exception:
        log.exception("recording data-quality signals from %d lineage event(s) failed", len(events))


def connect() -> None:
    events_applied.connect(on_events_applied, dispatch_uid="governance.monitoring.quality")
