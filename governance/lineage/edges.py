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
from .bulk import chunks, insert_rows, select_in, touch, update_rows
from .facets import schema_fields

FieldKey = tuple[int, str]  # (dataset id, field name)
COLUMN_EDGE_FIELDS = [
    "job", "source_field", "target_field", "transformation_type", "subtype", "masking", "description",
    "first_seen_at", "last_seen_at",
]  # fmt: skip
EDGE_FIELDS = ["job", "source", "target", "has_column_lineage", "indirect", "first_seen_at", "last_seen_at", "last_run"]


def write_fields(writer, live: list) -> None:
    """Fields of the batch's datasets; writer.fields becomes (dataset id, name) -> field id."""
    dataset_ids = {ds.pk for item in live for ds in item.datasets.values()}
    fields: dict[FieldKey, list] = {}  # key -> [id or None, data type, description]
    for pk, ds_id, name, dtype, desc in select_in(
        DatasetField, ["id", "dataset", "name", "data_type", "description"], "dataset", dataset_ids
    ):
        fields[(ds_id, name)] = [pk, dtype, desc]
    new: set[FieldKey] = set()
    dirty: set[FieldKey] = set()
    for item in live:
        for key, (dtype, desc) in _wanted_fields(item).items():
            current = fields.get(key)
            if current is None:
                fields[key] = [None, dtype, desc]
                new.add(key)
            elif (dtype, desc) != ("", "") and (current[1], current[2]) != (dtype, desc):
                current[1], current[2] = dtype, desc
                if key not in new:
                    dirty.add(key)
    update_rows(DatasetField, ["data_type", "description"], [(fields[k][0], *fields[k][1:]) for k in dirty])
    insert_rows(DatasetField, ["dataset", "name", "data_type", "description"], [(*k, *fields[k][1:]) for k in new])
    for pk, ds_id, name in select_in(DatasetField, ["id", "dataset", "name"], "dataset", {k[0] for k in new}):
        fields[(ds_id, name)][0] = pk
    writer.counts["fields_updated"] += len(dirty)
    writer.counts["fields_created"] += len(new)
    writer.changed.update(key[0] for key in (*dirty, *new))
    writer.fields = {key: value[0] for key, value in fields.items()}


def _wanted_fields(item) -> dict[FieldKey, tuple[str, str]]:
    """One event's fields: its schema facets (type, description), then the columns its lineage names."""
    wanted: dict[FieldKey, tuple[str, str]] = {}
    for doc in item.plan.documents:
        schema = (doc.get("facets") or {}).get("schema")
        ds = item.dataset(doc)
        if ds.id not in item.protected and isinstance(schema, dict) and schema.get("_deleted") is not True:
            wanted.update({(ds.id, name): (dtype, desc) for name, dtype, desc in schema_fields(schema)})
    none, datasets = ("", ""), item.datasets
    for lineage in item.plan.lineage:
        target = datasets[lineage.target].id  # every entry's target
        for entry in lineage.entries:
            wanted.setdefault((datasets[entry.source].id, entry.source_field), none)
            wanted.setdefault((target, entry.target_field), none)
    return wanted


def write_column_edges(writer, live: list) -> None:
    fields = writer.fields
    planned: list[dict] = []
    targets: set[int] = set()
    for item in live:
        by_key: dict[tuple, tuple] = {}  # within one event the last entry of a key wins
        job_id = item.job.pk if item.job is not None else None
        for lineage in item.plan.lineage:
            dst_ds = item.datasets[lineage.target].id  # every entry's target
            for e in lineage.entries:
                src_ds = item.datasets[e.source].id
                src, dst = fields[(src_ds, e.source_field)], fields[(dst_ds, e.target_field)]
                by_key[(job_id, src, dst, e.kind, e.subtype)] = (e.masking, e.description, src_ds, dst_ds)
                targets.add(dst)
        planned.append(by_key)
    if not targets:
        return
    edges: dict[tuple, list] = {}  # key -> [id or None, masking, description]
    columns = ["id", "job", "source_field", "target_field", "transformation_type", "subtype", "masking", "description"]
    for pk, *key, masking, description in select_in(ColumnEdge, columns, "target_field", targets):
        edges[tuple(key)] = [pk, masking, description]
    new: set[tuple] = set()
    changed: set[tuple] = set()
    seen: set[int] = set()
    for by_key in planned:
        for key, (masking, description, src_ds, dst_ds) in by_key.items():
            edge = edges.get(key)
            if edge is None:
                edges[key] = [None, masking, description]
                new.add(key)
                writer.added_edges.add((src_ds, dst_ds))
                continue
            writer.counts["column_edges_seen"] += 1
            if (edge[1], edge[2]) != (masking, description):
                edge[1], edge[2] = masking, description
                if key not in new:  # an existing edge changed: what it carries may weaken
                    changed.add(key)
                    writer.changed.update((src_ds, dst_ds))
            elif key not in new:
                seen.add(edge[0])
    now = writer.now
    insert_rows(ColumnEdge, COLUMN_EDGE_FIELDS, [(*k, edges[k][1], edges[k][2], now, now) for k in new])
    update_rows(ColumnEdge, ["masking", "description", "last_seen_at"], [(*edges[k], now) for k in changed])
    touch(ColumnEdge, "last_seen_at", now, seen - {edges[k][0] for k in changed})
    writer.counts["column_edges_created"] += len(new)


def write_dataset_edges(writer, live: list) -> None:
    planned: list[tuple] = []
    targets: set[int] = set()
    for item in live:
        if item.job is not None:
            pairs = _pairs(item)
            planned.append((item, pairs))
            targets.update(t for _, t, _, _ in pairs)
    if not targets:
        return
    job_ids = {item.job.pk for item, _ in planned}
    edges: dict[tuple[int, int, int], list] = {}  # key -> [id or None, has column lineage, indirect, last run]
    for ids in chunks(targets):
        rows = (
            LineageEdge.objects.order_by()
            .filter(target_id__in=ids, job_id__in=job_ids)
            .values_list("id", "job_id", "source_id", "target_id", "has_column_lineage", "indirect", "last_run_id")
        )
        for pk, job, source, target, has_columns, indirect, last_run in rows:
            edges[(job, source, target)] = [pk, has_columns, indirect, last_run]
    new: set[tuple] = set()
    seen: set[tuple] = set()
    for item, pairs in planned:
        run = item.run.pk if item.run is not None else None
        for source, target, has_columns, indirect in pairs:
            key = (item.job.pk, source, target)
            edge = edges.get(key)
            if edge is None:
                edges[key] = [None, has_columns, bool(indirect), run]
                new.add(key)
                writer.added_edges.add((source, target))
                continue
            upgraded = has_columns and not edge[1]
            flipped = indirect is not None and indirect != edge[2]
            edge[1], edge[2], edge[3] = edge[1] or has_columns, edge[2] if indirect is None else indirect, run
            if (upgraded or flipped) and key not in new:
                writer.changed.update((source, target))
            if key not in new:
                seen.add(key)
                writer.counts["edges_seen"] += 1
    now = writer.now
    insert_rows(LineageEdge, EDGE_FIELDS, [(*k, edges[k][1], edges[k][2], now, now, edges[k][3]) for k in new])
    update_rows(
        LineageEdge,
        ["has_column_lineage", "indirect", "last_run", "last_seen_at"],
        [(*edges[k], now) for k in seen],
    )
    writer.counts["edges_created"] += len(new)


def _pairs(item) -> list[tuple[int, int, bool, bool | None]]:
    """(source, target, has column lineage, indirect or None when the output has no columnLineage facet)."""
    with_columns = {
        (item.datasets[source].id, item.datasets[lineage.target].id)
        for lineage in item.plan.lineage
        for source in {e.source for e in lineage.entries}
    }
    by_fields: dict[int, set[int]] = {}
    for lineage in item.plan.lineage:
        target = item.datasets[lineage.target].id
        by_fields.setdefault(target, set()).update(item.datasets[i].id for i in lineage.named_by_fields)
    pairs = {(item.dataset(i).id, item.dataset(o).id) for o in item.plan.outputs for i in item.plan.inputs}
    pairs |= with_columns
    pairs |= {
        (item.datasets[i].id, item.datasets[lin.target].id) for lin in item.plan.lineage for i in lin.named_dataset_wide
    }
    out = []
    for source, target in sorted(pairs):
        named = by_fields.get(target)
        out.append((source, target, (source, target) in with_columns, None if named is None else source not in named))
    return out
