"""propagation.py's graph read from the database, and its labels written back as Classification rows.

Reads load only what the roots can reach: the downstream closure of the roots' datasets, walked
level by level (two queries per level), with the names the explanation paths show. Writes diff
the labels of each recomputed root against its existing derived rows: create what is new, update
what moved, delete what it no longer reaches — nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

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
            for source, target, cll, job in LineageEdge.objects.filter(source_id__in=chunk).values_list(
                "source_id", "target_id", "has_column_lineage", "job_id"
            ):
                graph.add_dataset_edge(propagation.DatasetEdge(source, target, cll, job))
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
                to_create.append(
                    Classification(
                        dataset_id=dataset,
                        field_id=field_id,
                        pii_kind=root.kind,
                        gdpr_class=klass,
                        origin=Origin.DERIVED,
                        derived_from_id=root.id,
                        path=path,
                        hops=label.hops,
                        treatment=label.treatment,
                        verified=label.verified,
                        created_at=now,
                        updated_at=now,
                    )
                )
                outcome.datasets.add(dataset)
            elif (row["treatment"], row["verified"], row["path"]) != (label.treatment, label.verified, path):
                to_update.append(
                    Classification(
                        pk=row["pk"],
                        path=path,
                        hops=label.hops,
                        treatment=label.treatment,
                        verified=label.verified,
                        updated_at=now,
                    )
                )
                outcome.datasets.add(dataset)
    stale = [(key, row) for key, row in existing.items() if key not in wanted]
    for chunk in _chunks([row["pk"] for _, row in stale]):
        Classification.objects.filter(pk__in=chunk).delete()
    outcome.datasets.update(key[1] for key, _ in stale)
    Classification.objects.bulk_create(to_create, batch_size=500)
    Classification.objects.bulk_update(
        to_update, ["path", "hops", "treatment", "verified", "updated_at"], batch_size=500
    )
    outcome.created, outcome.updated, outcome.deleted = len(to_create), len(to_update), len(stale)
    return outcome


def projects_of_datasets(dataset_ids: Iterable[int]) -> set[int]:
    """The projects whose model versions are linked to any of these datasets."""
    out: set[int] = set()
    for chunk in _chunks(dataset_ids):
        out.update(
            Dataset.objects.filter(pk__in=chunk, model_version__registered_model__project__isnull=False)
            .values_list("model_version__registered_model__project_id", flat=True)
            .distinct()
        )
    return out


def projects_downstream_of(dataset_ids: Iterable[int]) -> set[int]:
    """The projects with a model version linked to these datasets or to anything downstream of them."""
    return projects_of_datasets(load_graph(dataset_ids).dataset_names.keys())
