"""#18: adding one output to a tagged source costs the same queries however many outputs the source
already feeds. The shape of the issue: `crm.public.customers` (postgres://crm:5432) carries a `pii`
tag on `email` from a DatasetEvent; each event is a COMPLETE run writing its own output
`features/f<i>` (s3://lake) with a 5-column schema and a columnLineage facet mapping each column to
the same-named source column. The queries of the 1st and of the 2,000th event are pinned: once by
calling the propagation service with the new edge as the writer announces it (lineage_changed's
added_edges), once through lineage_event_ingest end to end."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from governance.compliance import services, store
from governance.lineage.ingest import lineage_event_ingest
from governance.models import (
    Classification,
    ColumnEdge,
    Dataset,
    DatasetField,
    DataSource,
    Job,
    LineageEdge,
    Origin,
)
from tests.query_counts import assert_queries, capture_queries

pytestmark = pytest.mark.django_db

SRC_NS, SRC = "postgres://crm:5432", "crm.public.customers"
OUT_NS = "s3://lake"
COLUMNS = ("id", "email", "name", "phone", "city_id")
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/client/python"
N = 2000
# Budget for one event's propagation, measured when written (23): the producer tags of the new output
# and its roots (3), the labels at the source (1), the graph below the new output (2 per level + names),
# the new edges (2), the root (1), the stored labels below (1), the insert (1), the audit entry (6),
# the projects of the touched datasets (1) and savepoints; on PostgreSQL two advisory locks more (the
# propagation's and the audit chain's). Equal at 1 and at 2,000 outputs.
EXTEND_BUDGET = {"sqlite": 23, "postgresql": 25}


def tag_event() -> dict:
    return {
        "eventTime": "2026-12-01T09:00:00Z", "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": SRC_NS, "name": SRC, "facets": {
            "schema": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                       "fields": [{"name": c, "type": "VARCHAR"} for c in COLUMNS]},
            "tags": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
                     "tags": [{"key": "pii", "value": "email", "field": "email"}]},
        }},
    }  # fmt: skip


def feature_event(i: int) -> dict:
    facet = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
    return {
        "eventType": "COMPLETE", "eventTime": "2026-12-01T10:00:00Z", "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.UUID(int=i + 1))},
        "job": {"namespace": "features", "name": f"build_f{i}"},
        "inputs": [{"namespace": SRC_NS, "name": SRC}],
        "outputs": [{"namespace": OUT_NS, "name": f"features/f{i}", "facets": {
            "schema": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                       "fields": [{"name": c, "type": "VARCHAR"} for c in COLUMNS]},
            "columnLineage": {"_producer": PRODUCER, "_schemaURL": facet, "fields": {
                c: {"inputFields": [{"namespace": SRC_NS, "name": SRC, "field": c, "transformations": [
                    {"type": "DIRECT", "subtype": "IDENTITY", "description": "", "masking": False}]}]}
                for c in COLUMNS}},
        }}],
    }  # fmt: skip


def outputs(start: int, stop: int) -> None:
    """features/f<start..stop-1> as the writer leaves them, in bulk (the events in between, without
    spending minutes on them), then their labels by one full recompute."""
    source = Dataset.objects.get(namespace=SRC_NS, name=SRC)
    src_fields = dict(DatasetField.objects.filter(dataset=source).values_list("name", "pk"))
    lake, _ = DataSource.objects.get_or_create(namespace=OUT_NS)
    names = [f"features/f{i}" for i in range(start, stop)]
    Dataset.objects.bulk_create(Dataset(source=lake, namespace=OUT_NS, name=n) for n in names)
    Job.objects.bulk_create(Job(namespace="features", name=f"build_f{i}") for i in range(start, stop))
    datasets = dict(Dataset.objects.filter(namespace=OUT_NS, name__in=names).values_list("name", "pk"))
    jobs = dict(Job.objects.filter(namespace="features").values_list("name", "pk"))
    DatasetField.objects.bulk_create(DatasetField(dataset_id=d, name=c) for d in datasets.values() for c in COLUMNS)
    fields = {(d, n): pk for pk, d, n in DatasetField.objects.filter(dataset_id__in=datasets.values())
              .values_list("pk", "dataset_id", "name")}  # fmt: skip
    LineageEdge.objects.bulk_create(
        LineageEdge(job_id=jobs[f"build_f{n.rsplit('f', 1)[1]}"], source=source, target_id=d, has_column_lineage=True)
        for n, d in datasets.items()
    )
    ColumnEdge.objects.bulk_create(
        ColumnEdge(job_id=jobs[f"build_f{n.rsplit('f', 1)[1]}"], source_field_id=src_fields[c],
                   target_field_id=fields[d, c], transformation_type="DIRECT", subtype="IDENTITY")
        for n, d in datasets.items() for c in COLUMNS
    )  # fmt: skip
    services.classifications_recompute_all()


def new_output(i: int) -> tuple[int, int]:
    """One more output written directly, as the writer would before announcing it; its (source, target)."""
    source = Dataset.objects.get(namespace=SRC_NS, name=SRC)
    lake, _ = DataSource.objects.get_or_create(namespace=OUT_NS)
    target = Dataset.objects.create(source=lake, namespace=OUT_NS, name=f"features/f{i}")
    job = Job.objects.create(namespace="features", name=f"build_f{i}")
    LineageEdge.objects.create(job=job, source=source, target=target, has_column_lineage=True)
    for c in COLUMNS:
        ColumnEdge.objects.create(job=job, source_field=source.fields.get(name=c),
                                  target_field=DatasetField.objects.create(dataset=target, name=c),
                                  transformation_type="DIRECT", subtype="IDENTITY")  # fmt: skip
    return source.pk, target.pk


@pytest.fixture
def graphs(monkeypatch) -> list[int]:
    """The number of datasets in every graph propagation loads: queries are set-based, so their count
    alone would not show a walk over the source's whole downstream; the size of what is read does."""
    sizes: list[int] = []
    real = store.load_graph

    def spy(dataset_ids):
        graph = real(dataset_ids)
        sizes.append(len(graph.dataset_names))
        return graph

    monkeypatch.setattr(store, "load_graph", spy)
    return sizes


def email_label(i: int) -> Classification:
    return Classification.objects.get(dataset__name=f"features/f{i}", field__name="email", origin=Origin.DERIVED)


def test_the_1st_and_the_2000th_added_edge_from_one_tagged_source_cost_the_same_queries(graphs):
    lineage_event_ingest(payload=tag_event(), by=None)
    first_edge = new_output(0)
    with capture_queries() as first:
        services.lineage_propagate(dataset_ids={first_edge[1]}, added_edges={first_edge})
    outputs(1, N - 1)
    last_edge = new_output(N - 1)
    del graphs[:]
    with capture_queries() as last:
        services.lineage_propagate(dataset_ids={last_edge[1]}, added_edges={last_edge})

    assert graphs == [1], "the 2,000th edge reads only its own output's downstream"
    assert (email_label(0).treatment, email_label(N - 1).treatment) == ("plain", "plain")
    assert email_label(N - 1).path[-1]["dataset_name"] == f"features/f{N - 1}"
    assert Classification.objects.filter(origin=Origin.DERIVED).count() == N
    budget = EXTEND_BUDGET[connection.vendor]
    assert_queries(first.count, last.count, at_most=budget, what="one added edge at 1 and at 2,000 outputs")


def test_the_1st_and_the_2000th_event_through_ingest_cost_the_same_queries(graphs):
    # Needs the batch writer's lineage_changed(added_edges=...) (#13's apply work): with a writer that
    # announces the source in dataset_ids, the source's roots are recomputed over all its outputs.
    lineage_event_ingest(payload=tag_event(), by=None)
    with capture_queries() as first:
        assert lineage_event_ingest(payload=feature_event(0), by=None).status == "accepted"
    outputs(1, N - 1)
    del graphs[:]
    with capture_queries() as last:
        assert lineage_event_ingest(payload=feature_event(N - 1), by=None).status == "accepted"

    assert max(graphs, default=0) <= 2, f"the 2,000th event read graphs of {graphs} datasets"
    assert (email_label(0).treatment, email_label(N - 1).treatment) == ("plain", "plain")
    assert Classification.objects.filter(origin=Origin.DERIVED).count() == N
    assert abs(int(first.count) - int(last.count)) <= 2, (
        f"ingest at 1 and at {N} outputs: {int(first.count)} vs {int(last.count)} queries\n{last.count.listing()}"
    )
