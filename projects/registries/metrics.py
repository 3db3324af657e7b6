"""The metrics of model versions, as rows governance can compare: one per metric and evaluation dataset.

Called by the sync after the snapshot is stored, in a transaction of its own, so that a registry that
answers versions but not metrics still syncs. Two sources, the newest value of a (metric, dataset) winning:
- the run behind the version (already read by runs.py into ModelVersion.metrics, once per run);
- MLflow 3's logged model (source "models:/m-..."): an evaluation run logs its metrics on the model with
  the dataset it measured, so a new run's values appear here without a new version. Logged models are
  read every sync (they change without any timestamp Keel could compare), at most LOGGED_MODELS_PER_SYNC,
  for the live versions of models linked to a project: those are the ones governance judges.
SageMaker's ModelMetrics are pointers to reports in S3, not values, so they stay on ModelVersion.metrics.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import audit

from .. import events
from ..models import MetricSource, ModelVersion, Registry, SyncRun, VersionMetric
from .adapters.base import RegistryError
from .bulk import bulk_insert, bulk_update_changed

log = logging.getLogger(__name__)
LOGGED_MODELS_PER_SYNC = 200
LOGGED_MODEL_SOURCE = re.compile(r"^models:/(m-[0-9a-zA-Z]+)/?$")
FIELDS = ("value", "timestamp", "step", "run_id", "source", "dataset_digest")


def logged_model_id(version: ModelVersion) -> str:
    """The MLflow 3 logged model behind a version ("" for none): MLflow leaves model_id unset on versions
    it registered from log_model, but names the model in the source."""
    raw_id = (version.raw or {}).get("model_id") if isinstance(version.raw, dict) else None
    if raw_id:
        return str(raw_id)
    match = LOGGED_MODEL_SOURCE.match(version.source or "")
    return match.group(1) if match else ""


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _moment(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _newer(candidate: dict, held: dict | None) -> bool:
    if held is None:
        return True
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return ((candidate["timestamp"] or epoch), candidate["step"]) >= ((held["timestamp"] or epoch), held["step"])


def wanted_metrics(
    version: ModelVersion, logged: list[dict] | None, stored: dict[tuple[str, str], VersionMetric] | None = None
) -> dict[tuple[str, str], dict]:
    """What a version's metric rows should hold, keyed by (metric, dataset): its run's metrics, and the
    logged model's when they were read (`logged` None: not read, so the logged-model rows `stored` stay).

    MLflow also lists a metric the run logged on the model (with its dataset) among the run's own metrics,
    without the dataset; that copy is dropped, so one measurement is one row."""
    wanted: dict[tuple[str, str], dict] = {}
    # Read from the run (runs.py) or, without one, kept by the registry on the version itself.
    source = MetricSource.RUN if version.run_fetched_id else MetricSource.REGISTRY
    for key, item in (version.metrics or {}).items():
        if not isinstance(item, dict) or (_number(item.get("value")) is None and item.get("value") is not None):
            continue  # not a measurement (e.g. a pointer to a report)
        wanted[(str(key)[:250], "")] = {
            "value": _number(item.get("value")), "timestamp": _moment(item.get("timestamp")),
            "step": int(item.get("step") or 0), "run_id": version.run_id, "source": source,
            "dataset_digest": "",
        }  # fmt: skip
    for item in logged or ():
        row = {
            "value": _number(item["value"]), "timestamp": _moment(item["timestamp"]), "step": item["step"],
            "run_id": item["run_id"][:100], "source": MetricSource.LOGGED_MODEL,
            "dataset_digest": item["dataset_digest"][:100],
        }  # fmt: skip
        at = (item["key"][:250], item["dataset_name"][:250])
        if _newer(row, wanted.get(at)):
            wanted[at] = row
    if logged is None:
        for at, row in (stored or {}).items():
            if row.source == MetricSource.LOGGED_MODEL and at not in wanted:
                wanted[at] = {f: getattr(row, f) for f in FIELDS}
    on_model = {at[0] for at, row in wanted.items() if row["source"] == MetricSource.LOGGED_MODEL and at[1]}
    for key in on_model:
        if (key, "") in wanted and wanted[(key, "")]["source"] != MetricSource.LOGGED_MODEL:
            del wanted[(key, "")]
    return wanted


def _fetch_logged(adapter, versions: list[ModelVersion]) -> tuple[dict[int, list[dict] | None], int]:
    """The logged models' metrics by version id, for as many as could be read; and the requests made."""
    fetch = getattr(adapter, "fetch_logged_model_metrics", None)
    if fetch is None:
        return {}, 0
    before = getattr(adapter, "requests_made", 0)
    found: dict[int, list[dict] | None] = {}
    candidates = [(v, logged_model_id(v)) for v in versions]
    for version, model_id in [c for c in candidates if c[1]][:LOGGED_MODELS_PER_SYNC]:
        try:
            found[version.pk] = fetch(model_id) or []
        except RegistryError as exc:
            # Keep what is stored for the rest; they are read again next sync.
            log.warning("sync: could not read logged model %s (%s); will try again next sync", model_id, exc)
            break
    return found, max(0, getattr(adapter, "requests_made", 0) - before)


def version_metrics_refresh(
    *, registry: Registry, adapter=None, run: SyncRun | None = None, versions: list[ModelVersion] | None = None
) -> list[ModelVersion]:
    """Bring the metric rows of the registry's linked, live versions up to date; returns the versions whose
    metrics changed (governance re-checks their thresholds through model_version_metrics_changed).

    `versions`: every version of the registry as the sync just stored it, each with its model (the sync
    holds them; None: read them here)."""
    if versions is None:
        versions = list(
            ModelVersion.objects.filter(
                registered_model__registry=registry, registered_model__project__isnull=False, deleted_at__isnull=True
            )
            .select_related("registered_model")
            .order_by("-registered_model_id", "-version_number", "-pk")
        )
    else:
        versions = sorted(
            (v for v in versions if v.deleted_at is None and v.registered_model.project_id is not None),
            key=lambda v: (v.registered_model_id, v.version_number, v.pk),
            reverse=True,
        )
    logged, requests = _fetch_logged(adapter, versions) if adapter is not None else ({}, 0)
    if run is not None and requests:
        SyncRun.objects.filter(pk=run.pk).update(requests=F("requests") + requests)
    return _store(versions, logged)


@transaction.atomic
def _store(versions: list[ModelVersion], logged: dict[int, list[dict] | None]) -> list[ModelVersion]:
    held: dict[int, dict[tuple[str, str], VersionMetric]] = {}
    for row in VersionMetric.objects.filter(version__in=[v.pk for v in versions]):
        held.setdefault(row.version_id, {})[(row.key, row.dataset_name)] = row
    now = timezone.now()
    new, changed, gone, trail, touched = [], [], [], [], []
    for version in versions:
        mine = held.get(version.pk, {})
        wanted = wanted_metrics(version, logged.get(version.pk), mine)
        before, after = {}, {}
        for at, values in wanted.items():
            row = mine.get(at)
            label = f"{at[0]}@{at[1]}" if at[1] else at[0]
            if row is None:
                new.append(VersionMetric(version=version, key=at[0], dataset_name=at[1], updated_at=now, **values))
                after[label] = values["value"]
                continue
            fields = [f for f in FIELDS if getattr(row, f) != values[f]]
            if fields:
                before[label] = row.value
                for f in fields:
                    setattr(row, f, values[f])
                row.updated_at = now
                changed.append((row, [*fields, "updated_at"]))
                after[label] = values["value"]
        for at, row in mine.items():
            if at not in wanted:
                gone.append(row.pk)
                before[f"{at[0]}@{at[1]}" if at[1] else at[0]] = row.value
        if before or after:
            touched.append(version)
            trail.append(
                audit.entry(actor=None, action="model_version.metrics_synced", obj=version, before=before, after=after)
            )
    bulk_insert(VersionMetric, new)
    bulk_update_changed(VersionMetric, changed)
    if gone:
        VersionMetric.objects.filter(pk__in=gone).delete()
    if trail:
        audit.record_many(trail)
    if touched:
        events.model_version_metrics_changed.send(sender=ModelVersion, versions=touched)
    return touched
