#!/usr/bin/env python
"""`make bench`: PII propagation time on a lineage graph of 10,000+ datasets.

One run, bounded (--budget, default 900 s):
  1. builds a throwaway Keel database: SQLite under var/bench/ by default; with DATABASE_URL set, a
     separate database named <name>_bench_propagation on that server (created and dropped here, never
     the configured database itself);
  2. bulk-creates a warehouse-shaped graph: --layers layers of --width datasets, --fields columns each;
     every dataset of layer k+1 reads two of layer k (column lineage: identity copies, a masked and an
     aggregated column, an INDIRECT filter, a column copied from the second input), one dataset edge in
     ten has no column lineage, and one
     in a hundred points back a layer (cycles); --models datasets of the last layer are linked to
     model versions of --projects projects (so obligations are evaluated too);
  3. asserts PII on two columns of --roots first-layer datasets and times the full propagation
     (classifications_recompute_all: load the reachable graph, propagate every root, write the rows,
     re-evaluate the projects);
  4. times the incremental paths: one new edge (lineage_propagate on its two datasets), one new
     assertion mid-graph (classification_assert), one retraction (classification_retract);
  5. prints a table and writes var/bench/propagation.json.

Run it with `make bench`, or `.venv/bin/python scripts/bench_propagation.py --help`.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import benchkit
from django.db import connection

from governance.compliance import services, taxonomy
from governance.models import (
    Classification,
    ColumnEdge,
    Dataset,
    DatasetField,
    DataSource,
    Job,
    LineageEdge,
    Obligation,
    Origin,
)
from projects.models import AIProject, ModelVersion, RegisteredModel, Registry, Team

NS = "postgres://warehouse:5432"


def build_graph(*, layers: int, width: int, fields: int) -> dict:
    """The datasets, fields, jobs and edges, bulk-created (what ingest would leave, without its cost)."""
    source = DataSource.objects.create(namespace=NS)
    Dataset.objects.bulk_create(
        [Dataset(source=source, namespace=NS, name=f"l{k:02}.t{i:05}") for k in range(layers) for i in range(width)],
        batch_size=2000,
    )
    ds = {name: pk for pk, name in Dataset.objects.values_list("pk", "name")}
    DatasetField.objects.bulk_create(
        [DatasetField(dataset_id=pk, name=f"c{j}") for pk in ds.values() for j in range(fields)], batch_size=5000
    )
    fid = {(d, n): pk for pk, d, n in DatasetField.objects.values_list("pk", "dataset_id", "name")}
    Job.objects.bulk_create([Job(namespace="etl", name=f"build_l{k:02}") for k in range(1, layers)])
    jobs = {name: pk for pk, name in Job.objects.values_list("pk", "name")}
    edges, cedges = [], []
    for k in range(1, layers):
        job = jobs[f"build_l{k:02}"]
        for i in range(width):
            target = ds[f"l{k:02}.t{i:05}"]
            sources = [ds[f"l{k - 1:02}.t{i:05}"], ds[f"l{k - 1:02}.t{(i + 1) % width:05}"]]
            if i % 100 == 0 and k + 1 < layers:  # a back edge: the next layer feeds this one too (a cycle)
                sources.append(ds[f"l{k + 1:02}.t{i:05}"])
            for n, src in enumerate(sources):
                coarse = (i + n) % 10 == 0
                edges.append(LineageEdge(job_id=job, source_id=src, target_id=target, has_column_lineage=not coarse))
                if coarse:
                    continue
                for j in range(fields):
                    if n == 0:  # identity copies, one hashed column, one aggregate
                        masked, sub = (j == fields - 2), ("AGGREGATION" if j == fields - 1 else "IDENTITY")
                        cedges.append(
                            ColumnEdge(
                                job_id=job,
                                source_field_id=fid[src, f"c{j}"],
                                target_field_id=fid[target, f"c{j}"],
                                transformation_type="DIRECT",
                                subtype="TRANSFORMATION" if masked else sub,
                                masking=masked,
                            )
                        )
                    elif j == 0:  # the second input filters the first column and is copied into the third
                        cedges.append(ColumnEdge(job_id=job, source_field_id=fid[src, "c0"],
                                                 target_field_id=fid[target, "c0"], transformation_type="INDIRECT",
                                                 subtype="FILTER"))  # fmt: skip
                        cedges.append(ColumnEdge(job_id=job, source_field_id=fid[src, "c1"],
                                                 target_field_id=fid[target, "c2"], transformation_type="DIRECT",
                                                 subtype="IDENTITY"))  # fmt: skip
    LineageEdge.objects.bulk_create(edges, batch_size=5000)
    ColumnEdge.objects.bulk_create(cedges, batch_size=5000)
    return {"datasets": len(ds), "fields": len(fid), "dataset_edges": len(edges), "column_edges": len(cedges),
            "ids": ds, "field_ids": fid}  # fmt: skip


def link_models(graph: dict, *, layers: int, models: int, projects: int) -> None:
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create(username="bench-owner")
    team = Team.objects.create(name="Bench", slug="bench")
    registry = Registry.objects.create(name="bench-mlflow", kind="mlflow", base_url="http://mlflow.bench:5000")
    project_rows = [
        AIProject.objects.create(
            name=f"Bench {p}",
            slug=f"bench-{p}",
            purpose="Benchmark.",
            team=team,
            owner=owner,
            risk_tier="high" if p % 2 else "minimal",
        )
        for p in range(projects)
    ]
    for m in range(models):
        rm = RegisteredModel.objects.create(registry=registry, name=f"model-{m}", project=project_rows[m % projects])
        mv = ModelVersion.objects.create(registered_model=rm, version="1", version_number=1)
        Dataset.objects.filter(pk=graph["ids"][f"l{layers - 1:02}.t{m * 7:05}"]).update(model_version=mv)


def analyze() -> None:
    """Fresh statistics after the bulk load, as a database in service has them (autovacuum lags behind)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--width", type=int, default=1000, help="datasets per layer (layers x width >= 10,000)")
    parser.add_argument("--fields", type=int, default=6, help="columns per dataset")
    parser.add_argument("--roots", type=int, default=500, help="first-layer datasets with two PII columns each")
    parser.add_argument("--models", type=int, default=50, help="last-layer datasets linked to model versions")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--budget", type=int, default=900, help="seconds before the run gives up")
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway database")
    parser.add_argument("--output", type=Path, default=benchkit.BENCH_DIR / "propagation.json")
    args = parser.parse_args()
    benchkit.start_budget(args.budget)
    vendor, name = benchkit.setup_database("propagation")
    report: dict = {"database": vendor, "python": platform.python_version(), "args": {
        k: v for k, v in vars(args).items() if k not in ("output", "keep_db")}}  # fmt: skip
    try:
        build_s, graph = timed(lambda: build_graph(layers=args.layers, width=args.width, fields=args.fields))
        link_models(graph, layers=args.layers, models=args.models, projects=args.projects)
        report["graph"] = {k: v for k, v in graph.items() if k not in ("ids", "field_ids")}
        report["build_s"] = round(build_s, 2)
        analyze()
        kinds = ["email", "health"]
        Classification.objects.bulk_create(
            Classification(dataset_id=(d := graph["ids"][f"l00.t{i:05}"]), field_id=graph["field_ids"][d, f"c{j}"],
                           pii_kind=kinds[j], gdpr_class=taxonomy.gdpr_class(kinds[j]), origin=Origin.MANUAL)
            for i in range(args.roots) for j in (0, 1)
        )  # fmt: skip
        analyze()
        full_s, outcome = timed(services.classifications_recompute_all)
        report["full"] = {"seconds": round(full_s, 2), **outcome.summary(),
                          "labels": Classification.objects.count(),
                          "obligations": Obligation.objects.count()}  # fmt: skip

        analyze()
        mid = args.layers // 2
        src, dst = graph["ids"][f"l{mid - 1:02}.t00003"], graph["ids"][f"l{mid:02}.t{args.width // 2:05}"]
        job = Job.objects.create(namespace="etl", name="late_join")
        LineageEdge.objects.create(job=job, source_id=src, target_id=dst, has_column_lineage=True)
        ColumnEdge.objects.create(
            job=job,
            source_field_id=graph["field_ids"][src, "c0"],
            target_field_id=graph["field_ids"][dst, "c3"],
            transformation_type="DIRECT",
        )
        edge_s, outcome = timed(lambda: services.lineage_propagate(dataset_ids={src, dst}))
        report["new_edge"] = {"seconds": round(edge_s, 3), **outcome.summary()}

        target = Dataset.objects.get(pk=graph["ids"][f"l{mid:02}.t00042"])
        assert_s, root = timed(lambda: services.classification_assert(
            by=None, dataset=target, field=target.fields.get(name="c2"), pii_kind="location"))  # fmt: skip
        report["assert"] = {"seconds": round(assert_s, 3), "derived": root.derived.count()}
        retract_s, removed = timed(lambda: services.classification_retract(by=None, classification=root))
        report["retract"] = {"seconds": round(retract_s, 3), "removed": removed}
    except benchkit.BudgetExceeded as exc:
        report["error"] = str(exc)
    finally:
        benchkit.stop_budget()
        if not args.keep_db:
            benchkit.drop_database(name)
    benchkit.write_report(report, args.output)
    g = report.get("graph", {})
    print(f"PII propagation ({vendor}): {g.get('datasets')} datasets, {g.get('fields')} fields, "
          f"{g.get('dataset_edges')} dataset edges, {g.get('column_edges')} column edges")  # fmt: skip
    for key, label in (("full", "full propagation"), ("new_edge", "one new edge"), ("assert", "one assertion"),
                       ("retract", "one retraction")):  # fmt: skip
        if key in report:
            detail = ", ".join(f"{k} {v}" for k, v in report[key].items() if k != "seconds")
            print(f"  {label:18} {report[key]['seconds']:>8.3f} s   ({detail})")
    if "error" in report:
        print("  ERROR:", report["error"])
        return 1
    print(f"  written to {args.output}")
    return 0


if __name__ == "__main__":
    benchkit.run(main)
