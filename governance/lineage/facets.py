"""Reading an OpenLineage event's facets: pure functions, no database.

What the writer (writer.py) needs from one validated event, in the event's own order: its job, run,
dataset documents, the data-source names it gives, and the column-lineage entries of each output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

LEGACY_TRANSFORMATIONS = {
    "IDENTITY": ("DIRECT", "IDENTITY", False),
    "MASKED": ("DIRECT", "TRANSFORMATION", True),
}

Identity = tuple[str, str]  # (namespace, name), cut to the model's lengths


def identity(namespace: Any, name: Any) -> Identity:
    return str(namespace)[:500], str(name)[:1000]


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
        if item.get("fields"):  # nested (most fields are not)
            out.extend(schema_fields(item, prefix=f"{name}."))
    return out


def column_transformations(input_field: dict, field_spec: dict) -> list[tuple[str, str, bool, str]]:
    """(type, subtype, masking, description) of one columnLineage input field, in either facet form."""
    out = []
    for t in input_field.get("transformations") or ():
        if isinstance(t, dict):
            kind = str(t.get("type") or "").upper()
            out.append(
                (
                    kind if kind in _KINDS else "",
                    str(t.get("subtype") or "").upper()[:30],
                    bool(t.get("masking")),
                    str(t.get("description") or ""),
                )
            )
    if out:
        return out
    legacy = str(field_spec.get("transformationType") or "").upper()
    description = str(field_spec.get("transformationDescription") or "")
    if legacy in LEGACY_TRANSFORMATIONS:
        kind, subtype, masking = LEGACY_TRANSFORMATIONS[legacy]
        return [(kind, subtype, masking, description)]
    return [("", "", False, description)]


_KINDS = frozenset({"DIRECT", "INDIRECT"})


class ColumnEntry(NamedTuple):
    """One column edge an output's columnLineage facet states, by identities and field names (a tuple:
    a large event has thousands)."""

    source: Identity
    source_field: str
    target: Identity
    target_field: str
    kind: str
    subtype: str
    masking: bool
    description: str


@dataclass
class OutputLineage:
    """An output's columnLineage facet: its column entries, and which inputs it names field by field."""

    target: Identity
    entries: list[ColumnEntry] = field(default_factory=list)
    named_by_fields: set[Identity] = field(default_factory=set)  # in some field's inputFields
    named_dataset_wide: set[Identity] = field(default_factory=set)  # only in the facet's `dataset` entries


def output_lineage(doc: dict) -> OutputLineage | None:
    """None when the output has no columnLineage facet (or one sent as deleted): no column authority.
    (A large event names thousands of input fields: the loops below are written for that.)"""
    facet = (doc.get("facets") or {}).get("columnLineage")
    if not isinstance(facet, dict) or facet.get("_deleted") is True:
        return None
    target = identity(doc["namespace"], doc["name"])
    out = OutputLineage(target)
    add_named, entries = out.named_by_fields.add, out.entries
    specs = {name[:500]: spec for name, spec in (facet.get("fields") or {}).items() if isinstance(spec, dict)}
    for out_name, spec in specs.items():
        for entry in spec.get("inputFields") or ():
            if isinstance(entry, dict) and (namespace := entry.get("namespace")) and (name := entry.get("name")):
                source = identity(namespace, name)
                add_named(source)
                if field_name := entry.get("field"):
                    field_name = str(field_name)[:500]
                    for kind, subtype, masking, description in column_transformations(entry, spec):
                        entries.append(
                            ColumnEntry(source, field_name, target, out_name, kind, subtype, masking, description)
                        )
    for entry in facet.get("dataset") or []:  # dataset-wide: applies to every output field named
        if isinstance(entry, dict) and entry.get("namespace") and entry.get("name"):
            out.named_dataset_wide.add(identity(entry["namespace"], entry["name"]))
            if entry.get("field"):
                out.entries.extend(_entries(entry, {}, target, list(specs)))
    return out


def _entries(entry: dict, spec: dict, target: Identity, out_names: list[str]) -> list[ColumnEntry]:
    source = identity(entry["namespace"], entry["name"])
    return [
        ColumnEntry(source, str(entry["field"])[:500], target, out_name, kind, subtype, masking, description)
        for out_name in out_names
        for kind, subtype, masking, description in column_transformations(entry, spec)
    ]


@dataclass
class EventPlan:
    """One validated event as the writer reads it."""

    kind: str  # "run" | "job" | "dataset"
    event_type: str
    job: dict | None
    run: dict | None
    inputs: list[dict]
    outputs: list[dict]
    source_names: dict[str, str]  # namespace -> the dataSource facet's name ("" when none)
    lineage: list[OutputLineage]

    @cached_property
    def documents(self) -> list[dict]:
        return self.outputs if self.kind == "dataset" else self.inputs + self.outputs

    def identities(self) -> list[Identity]:
        """Every dataset the event names: its documents, then the inputs its columnLineage facets name."""
        return self._identities

    @cached_property
    def _identities(self) -> list[Identity]:
        out = [identity(d["namespace"], d["name"]) for d in self.documents]
        for lineage in self.lineage:
            out.extend(lineage.named_by_fields | lineage.named_dataset_wide)
        return out


def plan_event(kind: str, payload: dict) -> EventPlan:
    if kind == "dataset":
        inputs, outputs = [], [payload["dataset"]]
    else:
        inputs = [d for d in payload.get("inputs") or [] if isinstance(d, dict)]
        outputs = [d for d in payload.get("outputs") or [] if isinstance(d, dict)]
    documents = outputs if kind == "dataset" else inputs + outputs
    # The dataSource facet names a namespace's data source (e.g. {"name": "warehouse", "uri": ...}).
    source_names = {
        str(d["namespace"])[:500]: str(((d.get("facets") or {}).get("dataSource") or {}).get("name") or "")[:200]
        for d in documents
    }
    lineage = [found for found in (output_lineage(d) for d in outputs) if found is not None]
    return EventPlan(
        kind=kind,
        event_type=str(payload.get("eventType") or ""),
        job=payload["job"] if kind in ("run", "job") else None,
        run=payload["run"] if kind == "run" else None,
        inputs=inputs,
        outputs=outputs,
        source_names=source_names,
        lineage=lineage,
    )
