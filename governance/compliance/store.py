"""propagation.py's graph read from the database, and its labels written back as Classification rows.

Reads load only what the roots can reach: the downstream closure of the roots' datasets, walked
level by level (two queries per level), with the names the explanation paths show. Writes diff
the labels of each recomputed root against its existing derived rows: create what is new, update
what moved, delete what it no longer reaches — nothing else is touched.

Two ways in:

* recompute(roots): a root's labels from scratch, over everything downstream of it. For what may
  remove or weaken a label (a retraction, a changed facet, an edge that lost column lineage).
* extend(added_edges): an added edge only adds or strengthens labels, so the labels already stored
  at its source are carried over it and on downstream of its target — the graph read is the
  target's downstream plus the new edges, never the source's other outputs, and the rows read and
  written are those of the roots that sit on the source, on that part of the graph. Its cost is
  bound by what the edge changes, not by how many outputs the source already has (#18). Equal to a
  recompute in its labels (propagation.py, "Extension", says why); a row is created, or updated
  when the new state is more exposing (or as exposing and verified), never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.bulk_insert import insert_many

from ..models import Classification, ColumnEdge, Dataset, DatasetField, Job, LineageEdge, Origin
from . import propagation, taxonomy
from .propagation import Graph, Root

CHUNK = 2000
# PostgreSQL advisory lock that serialises label writes: two ingests touching the same roots would
# otherwise both insert the same derived rows. SQLite's IMMEDIATE transactions serialise writers already.
PROPAGATION_LOCK = 0x4B45454C  # "KEEL"


def lock() -> None:
    """Take the propagation lock for the rest of the current transaction (re-entrant; PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [PROPAGATION_LOCK])


def _chunks(ids: Iterable[int], size: int = CHUNK):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def load_graph(dataset_ids: Iterable[int]) -> Graph:
    """The lineage downstream of these datasets (they included), with names for the paths."""
    graph = Graph()
    seen: set[int] = set(dataset_ids)
    frontier = list(seen)
    field_ids: set[int] = set()
    job_ids: set[int] = set()
    while frontier:
        nxt: set[int] = set()
        for chunk in _chunks(frontier):
            for source, target, cll, job, indirect in LineageEdge.objects.filter(source_id__in=chunk).values_list(
                "source_id", "target_id", "has_column_lineage", "job_id", "indirect"
            ):
                graph.add_dataset_edge(propagation.DatasetEdge(source, target, cll, job, indirect))
                job_ids.add(job)
                if target not in seen:
                    nxt.add(target)
            rows = ColumnEdge.objects.filter(source_field__dataset_id__in=chunk).values_list(
                "source_field_id", "source_field__dataset_id", "target_field_id", "target_field__dataset_id",
                "transformation_type", "subtype", "masking", "job_id",
            )  # fmt: skip
            for sf, sd, tf, td, type_, subtype, masking, job in rows:
                graph.field_dataset[sf] = sd
                graph.field_dataset[tf] = td
                graph.add_column_edge(propagation.ColumnEdge(sf, td, tf, type_, subtype, masking, job))
                field_ids.update((sf, tf))
                if job is not None:
                    job_ids.add(job)
                if td not in seen:
                    nxt.add(td)
        seen |= nxt
        frontier = list(nxt)
    for chunk in _chunks(seen):
        graph.dataset_names.update(Dataset.objects.filter(pk__in=chunk).values_list("pk", "name"))
    for chunk in _chunks(field_ids):
        graph.field_names.update(DatasetField.objects.filter(pk__in=chunk).values_list("pk", "name"))
    graph.job_names.update(Job.objects.filter(pk__in=job_ids).values_list("pk", "name"))
    return graph


def roots_at(dataset_ids: Iterable[int]) -> set[int]:
    """The roots with a label (their own or a derived one) on any of these datasets."""
    out: set[int] = set()
    for chunk in _chunks(dataset_ids):
        out.update(
            Classification.objects.filter(dataset_id__in=chunk)
            .annotate(root=Coalesce(F("derived_from_id"), F("id")))
            .order_by()  # the model's ordering would make DISTINCT per row, not per root
            .values_list("root", flat=True)
            .distinct()
        )
    return out


@dataclass
class Outcome:
    """What a recomputation changed: row counts, and the datasets whose labels moved."""

    roots: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    datasets: set[int] = field(default_factory=set)

    def summary(self) -> dict:
        return {"roots": self.roots, "created": self.created, "updated": self.updated, "deleted": self.deleted}


def recompute(root_ids: Iterable[int], *, graph: Graph | None = None) -> Outcome:
    """Recompute every label of these roots; call inside the writing service's transaction."""
    outcome = Outcome()
    roots = [
        Root(pk, dataset, field_id, kind)
        for chunk in _chunks(set(root_ids))
        for pk, dataset, field_id, kind in Classification.objects.filter(pk__in=chunk, derived_from__isnull=True)
        .values_list("pk", "dataset_id", "field_id", "pii_kind")
        .order_by("pk")
    ]
    outcome.roots = len(roots)
    if not roots:
        return outcome
    if graph is None:
        graph = load_graph({r.dataset for r in roots})
    now = timezone.now()
    existing: dict[tuple[int, int, int | None], dict] = {}
    for chunk in _chunks([r.id for r in roots]):
        for row in Classification.objects.filter(derived_from_id__in=chunk).values(
            "pk", "derived_from_id", "dataset_id", "field_id", "treatment", "verified", "path"
        ):
            existing[(row["derived_from_id"], row["dataset_id"], row["field_id"])] = row
    to_create, to_update = [], []
    wanted: set[tuple[int, int, int | None]] = set()
    for root in roots:
        klass = taxonomy.gdpr_class(root.kind)
        for (dataset, field_id), label in propagation.propagate(root, graph).items():
            key = (root.id, dataset, field_id)
            wanted.add(key)
            path = list(label.path)
            row = existing.get(key)
            if row is None:
                to_create.append(_derived(root, klass, dataset, field_id, label, now))
                outcome.datasets.add(dataset)
            elif (row["treatment"], row["verified"], row["path"]) != (label.treatment, label.verified, path):
                to_update.append(_moved(row["pk"], label, now))
                outcome.datasets.add(dataset)
    stale = [(key, row) for key, row in existing.items() if key not in wanted]
    for chunk in _chunks([row["pk"] for _, row in stale]):
        Classification.objects.filter(pk__in=chunk).delete()
    outcome.datasets.update(key[1] for key, _ in stale)
    _save(to_create, to_update)
    outcome.created, outcome.updated, outcome.deleted = len(to_create), len(to_update), len(stale)
    return outcome


def _derived(root: Root, klass: str, dataset: int, field_id: int | None, label, now) -> Classification:
    return Classification(
        dataset_id=dataset, field_id=field_id, pii_kind=root.kind, gdpr_class=klass, origin=Origin.DERIVED,
        derived_from_id=root.id, path=list(label.path), hops=label.hops, treatment=label.treatment,
        verified=label.verified, created_at=now, updated_at=now,
    )  # fmt: skip


def _moved(pk: int, label, now) -> Classification:
    return Classification(pk=pk, path=list(label.path), hops=label.hops, treatment=label.treatment,
                          verified=label.verified, updated_at=now)  # fmt: skip


def _save(to_create: list[Classification], to_update: list[Classification]) -> None:
    if to_create:
        insert_many(Classification, to_create)
    if to_update:
        Classification.objects.bulk_update(
            to_update, ["path", "hops", "treatment", "verified", "updated_at"], batch_size=500
        )


# --- extension over added edges ---------------------------------------------------------------

LABEL_FIELDS = ("pk", "derived_from_id", "dataset_id", "field_id", "treatment", "verified", "path")


def _seeds_at(sources: set[int], skip_roots: set[int]) -> dict[int, list[dict]]:
    """The labels stored on these datasets that can travel (not processed), by root (one query per chunk)."""
    by_root: dict[int, list[dict]] = {}
    for chunk in _chunks(sources):
        for row in (
            Classification.objects.filter(dataset_id__in=chunk)
            .exclude(treatment=propagation.PROCESSED)
            .values(*LABEL_FIELDS)
        ):
            root = row["derived_from_id"] or row["pk"]
            if root not in skip_roots:
                by_root.setdefault(root, []).append(row)
    return by_root


def _add_new_edges(graph: Graph, pairs: set[tuple[int, int]]) -> None:
    """The added edges themselves, into a graph loaded downstream of their targets (which holds the
    edges of any source that is itself downstream of a target already)."""
    closure = set(graph.dataset_names)
    pairs = {(s, t) for s, t in pairs if s not in closure}
    targets = {t for _, t in pairs}
    if not pairs:
        return
    # Read by target only (the targets' incoming edges: what the new edges changed), never by source, whose
    # other outputs may be thousands; the sources are picked out here.
    for chunk in _chunks(targets):
        for source, target, cll, job, indirect, job_name in LineageEdge.objects.filter(target_id__in=chunk).values_list(
            "source_id", "target_id", "has_column_lineage", "job_id", "indirect", "job__name"
        ):
            if (source, target) in pairs:
                graph.add_dataset_edge(propagation.DatasetEdge(source, target, cll, job, indirect))
                graph.job_names[job] = job_name
        rows = ColumnEdge.objects.filter(target_field__dataset_id__in=chunk).values_list(
            "source_field_id", "source_field__dataset_id", "target_field_id", "target_field__dataset_id",
            "target_field__name", "transformation_type", "subtype", "masking", "job_id", "job__name",
        )  # fmt: skip
        for sf, sd, tf, td, tname, type_, subtype, masking, job, job_name in rows:
            if (sd, td) not in pairs:
                continue
            graph.field_dataset[sf], graph.field_dataset[tf] = sd, td
            graph.field_names[tf] = tname
            if job is not None:
                graph.job_names[job] = job_name
            graph.add_column_edge(propagation.ColumnEdge(sf, td, tf, type_, subtype, masking, job))


def _state(row: dict) -> propagation.State:
    return (propagation.RANK[row["treatment"]], row["verified"])


def extend(added_edges: Iterable[tuple[int, int]], *, skip_roots: Iterable[int] = ()) -> Outcome:
    """Carry what the sources of these new edges already hold over them and downstream of their targets;
    call inside the writing service's transaction. Roots in `skip_roots` (just recomputed) are left out."""
    outcome = Outcome()
    pairs = set(added_edges)
    seeds_by_root = _seeds_at({s for s, _ in pairs}, set(skip_roots))
    if not seeds_by_root:
        return outcome  # nothing at the sources to carry: one query
    carrying = {row["dataset_id"] for rows in seeds_by_root.values() for row in rows}
    pairs = {(s, t) for s, t in pairs if s in carrying}
    graph = load_graph({t for _, t in pairs})
    closure = set(graph.dataset_names)
    _add_new_edges(graph, pairs)
    roots = {
        pk: (Root(pk, dataset, field_id, kind), dataset_name, field_name)
        for chunk in _chunks(seeds_by_root)
        for pk, dataset, field_id, kind, dataset_name, field_name in Classification.objects.filter(
            pk__in=chunk, derived_from__isnull=True
        ).values_list("pk", "dataset_id", "field_id", "pii_kind", "dataset__name", "field__name")
    }
    known: dict[int, dict[propagation.Node, dict]] = {root: {} for root in roots}
    for root_chunk in _chunks(roots):
        for chunk in _chunks(closure):
            for row in Classification.objects.filter(derived_from_id__in=root_chunk, dataset_id__in=chunk).values(
                *LABEL_FIELDS
            ):
                known[row["derived_from_id"]][(row["dataset_id"], row["field_id"])] = row
    now = timezone.now()
    to_create, to_update = [], []
    for root_id, (root, dataset_name, field_name) in sorted(roots.items()):
        held = known[root_id]
        seeds = []
        for row in seeds_by_root[root_id]:
            if row["derived_from_id"] is None:  # the root itself sits on a source
                graph.dataset_names.setdefault(root.dataset, dataset_name)
                if root.field is not None:
                    graph.field_names.setdefault(root.field, field_name or "")
                seeds.append(propagation.start_seed(root, graph))
            else:
                held.setdefault((row["dataset_id"], row["field_id"]), row)
                seeds.append(propagation.Seed((row["dataset_id"], row["field_id"]), _state(row), tuple(row["path"])))
        states = {node: _state(row) for node, row in held.items()}
        klass = taxonomy.gdpr_class(root.kind)
        for (dataset, field_id), label in propagation.spread((root.dataset, root.field), seeds, graph, states).items():
            row = held.get((dataset, field_id))
            if row is None:
                to_create.append(_derived(root, klass, dataset, field_id, label, now))
            else:
                to_update.append(_moved(row["pk"], label, now))
            outcome.datasets.add(dataset)
    outcome.roots = len(roots)
    _save(to_create, to_update)
    outcome.created, outcome.updated = len(to_create), len(to_update)
    return outcome


def projects_of_datasets(dataset_ids: Iterable[int]) -> set[int]:
    """The projects whose model versions are linked to any of these datasets."""
    out: set[int] = set()
    for chunk in _chunks(dataset_ids):
        out.update(
            Dataset.objects.filter(pk__in=chunk, model_version__registered_model__project__isnull=False)
            .order_by()
            .values_list("model_version__registered_model__project_id", flat=True)
            .distinct()
        )
    return out


def projects_downstream_of(dataset_ids: Iterable[int]) -> set[int]:
    """The projects with a model version linked to these datasets or to anything downstream of them."""
    return projects_of_datasets(load_graph(dataset_ids).dataset_names.keys())
