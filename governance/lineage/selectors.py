"""Reads of the lineage graph. Datasets are organisation-wide facts: every role reads all of them."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from ..models import Dataset, DatasetField, DatasetSymlink, LineageEdge


def identifier_q(namespace: str, name: str) -> Q:
    """Datasets known by (namespace, name): their own identity or one of their symlinks."""
    aliases = DatasetSymlink.objects.filter(namespace=namespace, name=name).values("dataset_id")
    return Q(namespace=namespace, name=name) | Q(pk__in=aliases)


def dataset_by_identifier(namespace: str, name: str) -> Dataset | None:
    """The dataset with this identity, else the one that has it as a symlink."""
    found = Dataset.objects.filter(namespace=namespace, name=name).first()
    if found is not None:
        return found
    link = DatasetSymlink.objects.select_related("dataset").filter(namespace=namespace, name=name).first()
    return link.dataset if link is not None else None


def datasets_with_graph() -> QuerySet[Dataset]:
    """Datasets with their fields and the ids of their direct upstream and downstream datasets
    (prefetched as `upstream_edges` / `downstream_edges`, ids only): a fixed number of queries."""
    edges = LineageEdge.objects.only("id", "source_id", "target_id").order_by()
    return Dataset.objects.select_related("source", "owner", "model_version__registered_model").prefetch_related(
        Prefetch("fields", queryset=DatasetField.objects.order_by("name")),
        Prefetch("upstream_edges", queryset=edges),
        Prefetch("downstream_edges", queryset=edges),
    )


def datasets_for_user(*, user) -> QuerySet[Dataset]:
    """Every dataset (the inventory is not team-scoped; the API and pages still require a role)."""
    return datasets_with_graph()


def upstream_ids(dataset: Dataset) -> list[int]:
    return sorted({e.source_id for e in dataset.upstream_edges.all()})


def downstream_ids(dataset: Dataset) -> list[int]:
    return sorted({e.target_id for e in dataset.downstream_edges.all()})
