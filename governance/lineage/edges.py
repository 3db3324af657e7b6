"""Fields, column edges and dataset edges of a batch, set-based: writer.BatchWriter calls these with itself
and the batch's live writer.Item list.

Fields come from the `schema` facet (nested fields as dotted paths; a field missing from a later schema
is kept; a later type or description wins) and from the columns the columnLineage facets name.

Column edges, from an output's columnLineage facet: one per input field and transformation (facets.py
reads both the 2-x `transformations` and the 1-x `transformationType` forms; the facet's dataset-wide
`dataset[]` entries become edges to every output field the facet names). A DatasetEvent's facet gives
edges without a job.

Dataset edges: every input x every output of a job, plus the datasets an output's columnLineage names
(dbt sends those without `inputs`). `has_column_lineage` once seen stays. `indirect`: the output has a
columnLineage facet and it names this input in no field's inputFields (only in its dataset-wide
entries, or not at all): the job read it to join or filter. An event whose output has no columnLineage
facet leaves `indirect` as it is (a new edge: False, the unverified fallback).
"""

from __future__ import annotations

from ..models import ColumnEdge, DatasetField, LineageEdge
from .bulk import chunks
from .facets import schema_fields

FieldKey = tuple[int, str]  # (dataset id, field name)


def write_fields(writer, live: list) -> None:
    dataset_ids = {ds.pk for item in live for ds in item.datasets.values()}
    fields: dict[FieldKey, DatasetField] = {}
    for ids in chunks(dataset_ids):
        fields.update({(f.dataset_id, f.name): f for f in DatasetField.objects.filter(dataset_id__in=ids)})
    new: dict[FieldKey, DatasetField] = {}
    dirty: dict[FieldKey, DatasetField] = {}
    for item in live:
        wanted: dict[FieldKey, tuple[str, str]] = {}
        for doc in item.plan.documents:
            schema = (doc.get("facets") or {}).get("schema")
            if isinstance(schema, dict) and schema.get("_deleted") is not True:
                ds = item.dataset(doc)
                wanted.update({(ds.pk, name): (dtype, desc) for name, dtype, desc in schema_fields(schema)})
        for lineage in item.plan.lineage:
            for entry in lineage.entries:
                wanted.setdefault((item.datasets[entry.source].pk, entry.source_field), ("", ""))
                wanted.setdefault((item.datasets[entry.target].pk, entry.target_field), ("", ""))
        for key, (dtype, desc) in wanted.items():
            current = fields.get(key)
            if current is None:
                fields[key] = new[key] = DatasetField(dataset_id=key[0], name=key[1], data_type=dtype, description=desc)
            elif (dtype, desc) != ("", "") and (current.data_type, current.description) != (dtype, desc):
                current.data_type, current.description = dtype, desc
                if key not in new:
                    dirty[key] = current
    if dirty:
        DatasetField.objects.bulk_update(list(dirty.values()), ["data_type", "description"])
        writer.counts["fields_updated"] += len(dirty)
    if new:
        DatasetField.objects.bulk_create(list(new.values()))
        writer.counts["fields_created"] += len(new)
    writer.changed.update(key[0] for key in (*dirty, *new))
    writer.fields = fields


def write_column_edges(writer, live: list) -> None:
    fields = writer.fields
    rows_of: list[tuple] = []
    targets: set[int] = set()
    for item in live:
        by_key: dict[tuple, tuple] = {}  # within one event the last entry of a key wins
        job_id = item.job.pk if item.job is not None else None
        for lineage in item.plan.lineage:
            for e in lineage.entries:
                src = fields[(item.datasets[e.source].pk, e.source_field)]
                dst = fields[(item.datasets[e.target].pk, e.target_field)]
                by_key[(job_id, src.pk, dst.pk, e.kind, e.subtype)] = (
                    e.masking,
                    e.description,
                    src.dataset_id,
                    dst.dataset_id,
                )
                targets.add(dst.pk)
        rows_of.append((item, by_key))
    if not targets:
        return
    edges: dict[tuple, ColumnEdge] = {}
    for ids in chunks(targets):
        for edge in ColumnEdge.objects.filter(target_field_id__in=ids):
            key = (edge.job_id, edge.source_field_id, edge.target_field_id, edge.transformation_type, edge.subtype)
            edges[key] = edge
    new: dict[tuple, ColumnEdge] = {}
    dirty: dict[tuple, ColumnEdge] = {}
    for _item, by_key in rows_of:
        for key, (masking, description, src_ds, dst_ds) in by_key.items():
            edge = edges.get(key)
            if edge is None:
                edges[key] = new[key] = ColumnEdge(
                    job_id=key[0], source_field_id=key[1], target_field_id=key[2], transformation_type=key[3],
                    subtype=key[4], masking=masking, description=description,
                    first_seen_at=writer.now, last_seen_at=writer.now,
                )  # fmt: skip
                writer.added_edges.add((src_ds, dst_ds))
                writer.counts["column_edges_created"] += 1
                continue
            writer.counts["column_edges_seen"] += 1
            if (edge.masking, edge.description) != (masking, description):
                edge.masking, edge.description = masking, description
                if key not in new:  # an existing edge changed: what it carries may weaken
                    writer.changed.update((src_ds, dst_ds))
            if key not in new:
                edge.last_seen_at = writer.now
                dirty[key] = edge
    if new:
        ColumnEdge.objects.bulk_create(list(new.values()))
    _save_seen(ColumnEdge, dirty.values(), ["masking", "description", "last_seen_at"])


def _save_seen(model, rows, fields: list[str]) -> None:
    """Rows seen again (last_seen_at, and what changed): one bulk UPDATE, chunked by Django."""
    rows = list(rows)
    if rows:
        model.objects.bulk_update(rows, fields)


def write_dataset_edges(writer, live: list) -> None:
    planned: list[tuple] = []
    targets: set[int] = set()
    for item in live:
        if item.job is None:
            continue
        pairs = _pairs(writer, item)
        planned.append((item, pairs))
        targets.update(t for _, t, _, _ in pairs)
    if not targets:
        return
    job_ids = {item.job.pk for item, _ in planned}
    edges: dict[tuple[int, int, int], LineageEdge] = {}
    for ids in chunks(targets):
        for edge in LineageEdge.objects.filter(target_id__in=ids, job_id__in=job_ids):
            edges[(edge.job_id, edge.source_id, edge.target_id)] = edge
    new: dict[tuple, LineageEdge] = {}
    dirty: dict[tuple, LineageEdge] = {}
    for item, pairs in planned:
        for source, target, has_columns, indirect in pairs:
            key = (item.job.pk, source, target)
            edge = edges.get(key)
            if edge is None:
                edges[key] = new[key] = LineageEdge(
                    job=item.job, source_id=source, target_id=target, has_column_lineage=has_columns,
                    indirect=bool(indirect), first_seen_at=writer.now, last_seen_at=writer.now, last_run=item.run,
                )  # fmt: skip
                writer.added_edges.add((source, target))
                writer.counts["edges_created"] += 1
                continue
            upgraded = has_columns and not edge.has_column_lineage
            flipped = indirect is not None and indirect != edge.indirect
            if upgraded:
                edge.has_column_lineage = True
            if flipped:
                edge.indirect = indirect
            if (upgraded or flipped) and key not in new:
                writer.changed.update((source, target))
            edge.last_run = item.run
            if key not in new:
                edge.last_seen_at = writer.now
                dirty[key] = edge
                writer.counts["edges_seen"] += 1
    if new:
        LineageEdge.objects.bulk_create(list(new.values()))
    _save_seen(LineageEdge, dirty.values(), ["has_column_lineage", "indirect", "last_seen_at", "last_run"])


def _pairs(writer, item) -> list[tuple[int, int, bool, bool | None]]:
    """(source, target, has column lineage, indirect or None when the output has no columnLineage facet)."""
    with_columns = {
        (item.datasets[e.source].pk, item.datasets[e.target].pk)
        for lineage in item.plan.lineage
        for e in lineage.entries
    }
    by_fields: dict[int, set[int]] = {}
    for lineage in item.plan.lineage:
        target = item.datasets[lineage.target].pk
        by_fields.setdefault(target, set()).update(item.datasets[i].pk for i in lineage.named_by_fields)
    pairs = {(item.dataset(i).pk, item.dataset(o).pk) for o in item.plan.outputs for i in item.plan.inputs}
    pairs |= with_columns
    pairs |= {
        (item.datasets[i].pk, item.datasets[lin.target].pk) for lin in item.plan.lineage for i in lin.named_dataset_wide
    }
    out = []
    for source, target in sorted(pairs):
        named = by_fields.get(target)
        out.append((source, target, (source, target) in with_columns, None if named is None else source not in named))
    return out
