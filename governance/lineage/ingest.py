"""The one write path of the lineage graph: an OpenLineage event in, the inventory and edges upserted.

lineage_event_ingest(*, payload, by) is one transaction:
1. the raw event's id is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8): an event
   stored before is answered "duplicate" and nothing is written (nor audited) again;
2. validate (validation.py) — an invalid event stores nothing — and store the raw event;
3. upsert the job, the run (START/RUNNING/COMPLETE… events of one runId merge into one row: facets
   merged by name, the state moves forward — a terminal COMPLETE/ABORT/FAIL is never overwritten by
   a late START or RUNNING, OTHER only adds facets), data sources (one per namespace, named by the
   `dataSource` facet when one says), datasets (a name that is a known symlink of a dataset resolves
   to that dataset), their facets (merged by facet name, the latest received winning; `_deleted:
   true` removes one), fields from the `schema` facet (nested fields as dotted paths; a field
   missing from a later schema is kept), symlinks;
4. dataset-level edges: every input x every output of the job, plus the datasets the output's
   `columnLineage` names (dbt sends those without `inputs`); `has_column_lineage` once seen stays;
5. column edges from `columnLineage`: one per input field and transformation. 2-x facets:
   `transformations[{type, subtype, masking, description}]`. 1-x facets (deprecated field-level
   `transformationType`): IDENTITY -> DIRECT/IDENTITY, MASKED -> DIRECT/TRANSFORMATION masked,
   with `transformationDescription` as description. No information at all (empty
   `transformations`, no `transformationType`) -> type "" (the propagation rules read it as direct).
   The facet's dataset-wide `dataset[]` entries (filters, joins on the whole output) become edges to
   every output field the facet names. A DatasetEvent's columnLineage gives edges without a job;
6. a MODEL dataset (datasetType facet) is linked to a registry model version (model_links.py);
7. one audit event "lineage.ingested", then the signal lineage_changed(dataset_ids=...) for the
   datasets whose facets, fields, symlinks, model link or edges changed (an empty set when only
   times moved) — both inside the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from core.errors import PermissionDeniedError
from core.roles import Role, has_role

from ..models import (
    ColumnEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DataSource,
    Job,
    LineageEdge,
    LineageEvent,
    Run,
    RunState,
)
from . import model_links
from .signals import lineage_changed
from .validation import LineageEventInvalid, ValidatedEvent, validate_event

# Who may post lineage: the pipelines of a team (a machine user holding Team Lead) and admins. Readers
# (executives, risk and compliance officers) assert nothing about pipelines. Lineage is organisation-wide
# facts, not scoped to a team, so any holder of these roles may post any namespace.
INGEST_ROLES = (Role.ADMIN, Role.TEAM_LEAD)

TERMINAL_STATES = frozenset({RunState.COMPLETE, RunState.ABORT, RunState.FAIL})
LEGACY_TRANSFORMATIONS = {
    "IDENTITY": ("DIRECT", "IDENTITY", False),
    "MASKED": ("DIRECT", "TRANSFORMATION", True),
}


def canonical_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON: the same event, however its keys or spaces were laid out, hashes alike."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class IngestResult:
    status: str  # "accepted" | "duplicate"
    event: LineageEvent
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dataset_ids: set[int] = field(default_factory=set)


def lineage_event_ingest(*, payload: Any, by) -> IngestResult:
    """Store and apply one OpenLineage event; "duplicate" (nothing written) when it was seen before."""
    if by is not None and getattr(by, "is_authenticated", False) and not has_role(by, *INGEST_ROLES):
        raise PermissionDeniedError("Only admins and team leads (e.g. a pipeline's machine user) may post lineage.")
    digest = canonical_hash(payload)
    existing = LineageEvent.objects.filter(event_hash=digest).first()
    if existing is not None:  # stored before, so valid: not checked again
        return IngestResult("duplicate", existing)
    validated = validate_event(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = _store_raw(validated, digest, by)
        except IntegrityError:  # the same event, sent twice at once: the other request stored it
            return IngestResult("duplicate", LineageEvent.objects.get(event_hash=digest), warnings=validated.warnings)
        writer = _GraphWriter(validated, by=by)
        writer.apply()
        audit.record(
            actor=by,
            action="lineage.ingested",
            obj=event,
            after={
                "event_hash": digest,
                "kind": validated.kind,
                "event_type": event.event_type,
                "run_id": event.run_id,
                "job": f"{event.job_namespace}/{event.job_name}" if event.job_name else "",
                "counts": writer.counts,
            },
        )
        lineage_changed.send(sender=LineageEvent, dataset_ids=set(writer.changed))
    return IngestResult("accepted", event, writer.counts, validated.warnings, set(writer.changed))


def _store_raw(validated: ValidatedEvent, digest: str, by) -> LineageEvent:
    payload = validated.payload
    job = payload.get("job") if isinstance(payload.get("job"), dict) else {}
    run = payload.get("run") if isinstance(payload.get("run"), dict) else {}
    return LineageEvent.objects.create(
        event_hash=digest,
        kind=validated.kind,
        event_type=str(payload.get("eventType") or "")[:10],
        event_time=validated.event_time,
        run_id=str(run.get("runId") or ""),
        job_namespace=str(job.get("namespace") or "")[:500],
        job_name=str(job.get("name") or "")[:1000],
        producer=str(payload["producer"])[:1000],
        schema_url=str(payload["schemaURL"])[:1000],
        spec_major=validated.spec_major,
        payload=payload,
        received_by=by if getattr(by, "is_authenticated", False) else None,
        applied_at=timezone.now(),  # applied in this same transaction
    )


def merge_facets(current: dict, incoming: dict | None) -> dict:
    """Facets by name, the newest winning; a facet sent as {"_deleted": true} is removed."""
    merged = dict(current or {})
    for key, value in (incoming or {}).items():
        if isinstance(value, dict) and value.get("_deleted") is True:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def schema_fields(facet: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, type, description) for each field of a `schema` facet, nested ones flattened."""
    out: list[tuple[str, str, str]] = []
    for item in (facet or {}).get("fields") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = f"{prefix}{item['name']}"
        out.append((name[:500], str(item.get("type") or "")[:200], str(item.get("description") or "")))
        out.extend(schema_fields(item, prefix=f"{name}."))
    return out


def column_transformations(input_field: dict, field_spec: dict) -> list[tuple[str, str, bool, str]]:
    """(type, subtype, masking, description) of one columnLineage input field, in either facet form."""
    listed = [t for t in input_field.get("transformations") or [] if isinstance(t, dict)]
    if listed:
        out = []
        for t in listed:
            kind = str(t.get("type") or "").upper()
            out.append(
                (
                    kind if kind in ("DIRECT", "INDIRECT") else "",
                    str(t.get("subtype") or "").upper()[:30],
                    bool(t.get("masking")),
                    str(t.get("description") or ""),
                )
            )
        return out
    legacy = str(field_spec.get("transformationType") or "").upper()
    description = str(field_spec.get("transformationDescription") or "")
    if legacy in LEGACY_TRANSFORMATIONS:
        kind, subtype, masking = LEGACY_TRANSFORMATIONS[legacy]
        return [(kind, subtype, masking, description)]
    return [("", "", False, description)]


class _GraphWriter:
    """Applies one validated event to the graph; records counts and which datasets changed."""

    def __init__(self, validated: ValidatedEvent, *, by=None):
        self.event = validated
        self.by = by
        self.payload = validated.payload
        self.now = timezone.now()
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "jobs_created",
                "runs_created",
                "datasets_created",
                "datasets_updated",
                "fields_created",
                "fields_updated",
                "symlinks_created",
                "edges_created",
                "edges_seen",
                "column_edges_created",
                "column_edges_seen",
                "model_links",
                "facets_refused",
            ),
            0,
        )
        self.changed: set[int] = set()
        self.datasets: dict[tuple[str, str], Dataset] = {}
        self.source_names: dict[str, str] = {}
        self.fields: dict[tuple[int, str], DatasetField] = {}
        # Datasets linked to a model version the poster may not link: their facets and schema stay as they are.
        self.protected: set[int] = set()

    # --- the event, by kind ----------------------------------------------------------------

    def apply(self) -> None:
        payload = self.payload
        job = run = None
        if self.event.kind in ("run", "job"):
            job = self._job(payload["job"])
        if self.event.kind == "run":
            run = self._run(payload["run"], job)
        if self.event.kind == "dataset":
            documents = [payload["dataset"]]
            outputs = [payload["dataset"]]
            inputs = []
        else:
            inputs = [d for d in payload.get("inputs") or [] if isinstance(d, dict)]
            outputs = [d for d in payload.get("outputs") or [] if isinstance(d, dict)]
            documents = inputs + outputs
        identities = [(d["namespace"], d["name"]) for d in documents]
        # The dataSource facet names a namespace's data source (e.g. {"name": "warehouse", "uri": ...}).
        self.source_names = {
            d["namespace"][:500]: str(((d.get("facets") or {}).get("dataSource") or {}).get("name") or "")[:200]
            for d in documents
        }
        for doc in outputs:
            identities.extend(self._lineage_sources(doc))
        self._resolve_datasets(identities)
        self.protected = model_links.protected_dataset_ids(self.datasets.values(), self.by)
        for namespace, name in self.source_names.items():
            if name:  # a source first seen without the facet gets its name later
                DataSource.objects.filter(namespace=namespace, name="").update(name=name)
        # One order for row updates, so two concurrent events touching the same datasets cannot deadlock.
        for doc in sorted(documents, key=lambda d: (d["namespace"], d["name"])):
            self._apply_dataset_document(doc)
        self._load_fields()
        for doc in documents:
            self._upsert_schema_fields(doc)
        column_rows = []
        for doc in outputs:
            column_rows.extend(self._column_rows(doc))
        self._upsert_column_edges(column_rows, job)
        if job is not None:
            self._upsert_edges(inputs, outputs, column_rows, job, run)
        self._link_models(documents)

    def _job(self, doc: dict) -> Job:
        namespace, name = doc["namespace"][:500], doc["name"][:1000]
        job = Job.objects.select_for_update().filter(namespace=namespace, name=name).first()
        if job is None:
            Job.objects.bulk_create(
                [Job(namespace=namespace, name=name, first_seen_at=self.now)], ignore_conflicts=True
            )
            job = Job.objects.select_for_update().get(namespace=namespace, name=name)
            if job.first_seen_at == self.now:
                self.counts["jobs_created"] += 1
        facets = merge_facets(job.facets, doc.get("facets"))
        if facets != job.facets:
            job.facets, job.updated_at = facets, self.now
            job.save(update_fields=["facets", "updated_at"])
        return job

    def _run(self, doc: dict, job: Job) -> Run:
        run_id = doc["runId"]
        event_type = str(self.payload.get("eventType") or "")
        when = self.event.event_time
        run = Run.objects.select_for_update().filter(run_id=run_id).first()
        if run is None:
            state = event_type if event_type in RunState.values else RunState.OTHER
            created = Run(
                run_id=run_id,
                job=job,
                state=state,
                started_at=when,
                ended_at=when if state in TERMINAL_STATES else None,
                facets=merge_facets({}, doc.get("facets")),
                updated_at=self.now,
            )
            Run.objects.bulk_create([created], ignore_conflicts=True)
            run = Run.objects.select_for_update().get(run_id=run_id)
            if run.updated_at == self.now and run.job_id == job.pk:
                self.counts["runs_created"] += 1
                return run
        if run.job_id != job.pk:
            raise LineageEventInvalid(
                [f"run.runId {run_id} already belongs to job {run.job.namespace}/{run.job.name}, not to this one"],
                code="run_job_mismatch",
            )
        if event_type in TERMINAL_STATES:
            run.state, run.ended_at = event_type, when
        elif event_type in (RunState.START, RunState.RUNNING) and run.state not in TERMINAL_STATES:
            run.state = event_type
        run.started_at = min(run.started_at, when)
        run.facets = merge_facets(run.facets, doc.get("facets"))
        run.updated_at = self.now
        run.save(update_fields=["state", "started_at", "ended_at", "facets", "updated_at"])
        return run

    # --- datasets and fields ---------------------------------------------------------------

    @staticmethod
    def _lineage_sources(doc: dict) -> list[tuple[str, str]]:
        facet = (doc.get("facets") or {}).get("columnLineage") or {}
        out = []
        entries = [f for spec in (facet.get("fields") or {}).values() for f in (spec or {}).get("inputFields") or []]
        entries.extend(facet.get("dataset") or [])
        for entry in entries:
            if isinstance(entry, dict) and entry.get("namespace") and entry.get("name"):
                out.append((entry["namespace"], entry["name"]))
        return out

    def _resolve_datasets(self, identities: Iterable[tuple[str, str]]) -> None:
        """Every (namespace, name) of the event -> its Dataset (through symlinks), created when new."""
        wanted = {(ns[:500], name[:1000]) for ns, name in identities}
        if not wanted:
            return
        query = Q()
        for ns, name in wanted:
            query |= Q(namespace=ns, name=name)
        for ds in Dataset.objects.filter(query):
            self.datasets[(ds.namespace, ds.name)] = ds
        missing = wanted - self.datasets.keys()
        if missing:
            query = Q()
            for ns, name in missing:
                query |= Q(namespace=ns, name=name)
            for link in DatasetSymlink.objects.filter(query).select_related("dataset"):
                self.datasets[(link.namespace, link.name)] = link.dataset
            missing -= self.datasets.keys()
        if not missing:
            return
        sources = self._sources({ns for ns, _ in missing})
        Dataset.objects.bulk_create(
            [
                Dataset(source=sources[ns], namespace=ns, name=name, first_seen_at=self.now, updated_at=self.now)
                for ns, name in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        query = Q()
        for ns, name in missing:
            query |= Q(namespace=ns, name=name)
        for ds in Dataset.objects.filter(query):
            self.datasets[(ds.namespace, ds.name)] = ds
            if ds.first_seen_at == self.now:
                self.counts["datasets_created"] += 1
                self.changed.add(ds.pk)

    def _sources(self, namespaces: set[str]) -> dict[str, DataSource]:
        found = {s.namespace: s for s in DataSource.objects.filter(namespace__in=namespaces)}
        new = namespaces - found.keys()
        if new:
            DataSource.objects.bulk_create(
                [
                    DataSource(namespace=ns, name=self.source_names.get(ns, ""), created_at=self.now)
                    for ns in sorted(new)
                ],
                ignore_conflicts=True,
            )
            found.update({s.namespace: s for s in DataSource.objects.filter(namespace__in=new)})
        return found

    def dataset(self, namespace: str, name: str) -> Dataset:
        return self.datasets[(namespace[:500], name[:1000])]

    def _apply_dataset_document(self, doc: dict) -> None:
        ds = self.dataset(doc["namespace"], doc["name"])
        if ds.pk in self.protected:
            if merge_facets(ds.facets, doc.get("facets")) != ds.facets:
                self.counts["facets_refused"] += 1
                model_links.audit_facets_refused([ds], self.by)
            return
        facets = merge_facets(ds.facets, doc.get("facets"))
        dataset_type = str(((facets.get("datasetType") or {}).get("datasetType")) or ds.dataset_type or "")[:50]
        symlinks = [
            {
                "namespace": str(i.get("namespace"))[:500],
                "name": str(i.get("name"))[:1000],
                "type": str(i.get("type") or ""),
            }
            for i in (facets.get("symlinks") or {}).get("identifiers") or []
            if isinstance(i, dict) and i.get("namespace") and i.get("name")
        ]
        if facets == ds.facets and dataset_type == ds.dataset_type and symlinks == ds.symlinks:
            return
        if symlinks != ds.symlinks:
            self._upsert_symlinks(ds, symlinks)
        ds.facets, ds.dataset_type, ds.symlinks, ds.updated_at = facets, dataset_type, symlinks, self.now
        ds.save(update_fields=["facets", "dataset_type", "symlinks", "updated_at"])
        self.counts["datasets_updated"] += 1
        self.changed.add(ds.pk)

    def _upsert_symlinks(self, ds: Dataset, symlinks: list[dict]) -> None:
        """An identifier another dataset already claims is left with it. A dataset row of the same identity
        still wins lookups (selectors.dataset_by_identifier)."""
        rows = [
            DatasetSymlink(dataset=ds, namespace=s["namespace"], name=s["name"], type=s["type"][:50])
            for s in symlinks
            if (s["namespace"], s["name"]) != (ds.namespace, ds.name)
        ]
        before = DatasetSymlink.objects.filter(dataset=ds).count()
        DatasetSymlink.objects.bulk_create(rows, ignore_conflicts=True)
        self.counts["symlinks_created"] += DatasetSymlink.objects.filter(dataset=ds).count() - before

    def _load_fields(self) -> None:
        ids = {ds.pk for ds in self.datasets.values()}
        for f in DatasetField.objects.filter(dataset_id__in=ids):
            self.fields[(f.dataset_id, f.name)] = f

    def _ensure_fields(self, wanted: dict[tuple[int, str], tuple[str, str]]) -> None:
        """Create the fields not there yet ((dataset id, name) -> (type, description)); update changed ones."""
        new = [
            DatasetField(dataset_id=ds_id, name=name, data_type=dtype, description=desc)
            for (ds_id, name), (dtype, desc) in wanted.items()
            if (ds_id, name) not in self.fields
        ]
        changed = []
        for key, (dtype, desc) in wanted.items():
            current = self.fields.get(key)
            if (
                current is not None
                and (dtype, desc) != ("", "")
                and (current.data_type, current.description)
                != (
                    dtype,
                    desc,
                )
            ):
                current.data_type, current.description = dtype, desc
                changed.append(current)
                self.changed.add(key[0])
        if changed:
            DatasetField.objects.bulk_update(changed, ["data_type", "description"])
            self.counts["fields_updated"] += len(changed)
        if new:
            DatasetField.objects.bulk_create(new, ignore_conflicts=True)
            created_ids = {f.dataset_id for f in new}
            before = len(self.fields)
            for f in DatasetField.objects.filter(dataset_id__in=created_ids, name__in={f.name for f in new}):
                self.fields.setdefault((f.dataset_id, f.name), f)
            self.counts["fields_created"] += len(self.fields) - before
            self.changed.update(created_ids)

    def _upsert_schema_fields(self, doc: dict) -> None:
        ds = self.dataset(doc["namespace"], doc["name"])
        schema = (doc.get("facets") or {}).get("schema")
        if ds.pk in self.protected or not isinstance(schema, dict) or schema.get("_deleted") is True:
            return
        self._ensure_fields({(ds.pk, name): (dtype, desc) for name, dtype, desc in schema_fields(schema)})

    # --- edges -----------------------------------------------------------------------------

    def _column_rows(self, doc: dict) -> list[tuple]:
        """(source field key, target field key, type, subtype, masking, description) from one output."""
        facet = (doc.get("facets") or {}).get("columnLineage")
        if not isinstance(facet, dict) or facet.get("_deleted") is True:
            return []
        target = self.dataset(doc["namespace"], doc["name"])
        specs = {name[:500]: spec for name, spec in (facet.get("fields") or {}).items() if isinstance(spec, dict)}
        raw = []
        for out_name, spec in specs.items():
            for entry in spec.get("inputFields") or []:
                if isinstance(entry, dict) and entry.get("field"):
                    for t in column_transformations(entry, spec):
                        raw.append((entry, out_name, *t))
        for entry in facet.get("dataset") or []:  # dataset-wide: applies to every output field named
            if isinstance(entry, dict) and entry.get("field"):
                for out_name in specs:
                    for t in column_transformations(entry, {}):
                        raw.append((entry, out_name, *t))
        wanted: dict[tuple[int, str], tuple[str, str]] = {}
        rows = []
        for entry, out_name, kind, subtype, masking, description in raw:
            source = self.dataset(entry["namespace"], entry["name"])
            src_key, dst_key = (source.pk, str(entry["field"])[:500]), (target.pk, out_name)
            wanted.setdefault(src_key, ("", ""))
            wanted.setdefault(dst_key, ("", ""))
            rows.append((src_key, dst_key, kind, subtype, masking, description))
        self._ensure_fields(wanted)
        return rows

    def _upsert_column_edges(self, rows: list[tuple], job: Job | None) -> None:
        if not rows:
            return
        by_key: dict[tuple, tuple] = {}
        for src_key, dst_key, kind, subtype, masking, description in rows:
            key = (self.fields[src_key].pk, self.fields[dst_key].pk, kind, subtype)
            by_key[key] = (masking, description, src_key[0], dst_key[0])
        target_ids = {k[1] for k in by_key}
        existing = {
            (e.source_field_id, e.target_field_id, e.transformation_type, e.subtype): e
            for e in ColumnEdge.objects.filter(job=job, target_field_id__in=target_ids)
        }
        new, changed, seen = [], [], []
        for key, (masking, description, src_ds, dst_ds) in by_key.items():
            edge = existing.get(key)
            if edge is None:
                new.append(
                    ColumnEdge(
                        job=job,
                        source_field_id=key[0],
                        target_field_id=key[1],
                        transformation_type=key[2],
                        subtype=key[3],
                        masking=masking,
                        description=description,
                        first_seen_at=self.now,
                        last_seen_at=self.now,
                    )
                )
                self.changed.update((src_ds, dst_ds))
            elif (edge.masking, edge.description) != (masking, description):
                edge.masking, edge.description, edge.last_seen_at = masking, description, self.now
                changed.append(edge)
                self.changed.update((src_ds, dst_ds))
            else:
                seen.append(edge.pk)
        if new:
            created = ColumnEdge.objects.bulk_create(new, ignore_conflicts=True)
            self.counts["column_edges_created"] += len(created)
        if changed:
            ColumnEdge.objects.bulk_update(changed, ["masking", "description", "last_seen_at"])
        if seen:
            ColumnEdge.objects.filter(pk__in=seen).update(last_seen_at=self.now)
        self.counts["column_edges_seen"] += len(changed) + len(seen)

    def _upsert_edges(self, inputs, outputs, column_rows, job: Job, run: Run | None) -> None:
        with_columns = {(src[0], dst[0]) for src, dst, *_ in column_rows}
        input_ids = [self.dataset(d["namespace"], d["name"]).pk for d in inputs]
        pairs: set[tuple[int, int]] = set()
        for doc in outputs:
            target = self.dataset(doc["namespace"], doc["name"]).pk
            pairs.update((source, target) for source in input_ids)
        pairs |= with_columns
        if not pairs:
            return
        existing = {
            (e.source_id, e.target_id): e
            for e in LineageEdge.objects.filter(job=job, target_id__in={t for _, t in pairs})
        }
        new, upgraded, seen = [], [], []
        for source, target in sorted(pairs):
            has_columns = (source, target) in with_columns
            edge = existing.get((source, target))
            if edge is None:
                new.append(
                    LineageEdge(
                        job=job,
                        source_id=source,
                        target_id=target,
                        has_column_lineage=has_columns,
                        first_seen_at=self.now,
                        last_seen_at=self.now,
                        last_run=run,
                    )
                )
                self.changed.update((source, target))
            elif has_columns and not edge.has_column_lineage:
                upgraded.append(edge.pk)
                self.changed.update((source, target))
            else:
                seen.append(edge.pk)
        if new:
            created = LineageEdge.objects.bulk_create(new, ignore_conflicts=True)
            self.counts["edges_created"] += len(created)
        if upgraded:
            LineageEdge.objects.filter(pk__in=upgraded).update(
                has_column_lineage=True, last_seen_at=self.now, last_run=run
            )
        if seen:
            LineageEdge.objects.filter(pk__in=seen).update(last_seen_at=self.now, last_run=run)
        self.counts["edges_seen"] += len(upgraded) + len(seen)

    # --- model versions ---------------------------------------------------------------------

    def _link_models(self, documents: list[dict]) -> None:
        datasets = [self.dataset(d["namespace"], d["name"]) for d in documents]
        linked = model_links.link_documents(datasets, now=self.now, by=self.by)
        self.counts["model_links"] += len(linked)
        self.changed.update(linked)
