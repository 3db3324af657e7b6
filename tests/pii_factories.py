"""Lineage rows for PII and obligation tests, written directly (as ingest would leave them), and the
link of a dataset to a project's model version.

    raw = dataset("raw.customers", "email", "name")
    stg = dataset("stg.customers", "email")
    flow(raw, stg, [("email", "email")])               # a DIRECT/IDENTITY column edge (and the dataset edge)
    model = model_dataset(project, "churn", inputs=[stg])
"""

from __future__ import annotations

from governance.models import ColumnEdge, Dataset, DatasetField, DataSource, Job, LineageEdge
from tests.signoff_factories import linked_version

NS = "postgres://warehouse:5432"


def dataset(name: str, *fields: str, namespace: str = NS, model_version=None, dataset_type: str = "TABLE") -> Dataset:
    source, _ = DataSource.objects.get_or_create(namespace=namespace)
    ds, _ = Dataset.objects.get_or_create(
        namespace=namespace, name=name,
        defaults={"source": source, "model_version": model_version, "dataset_type": dataset_type},
    )  # fmt: skip
    for f in fields:
        DatasetField.objects.get_or_create(dataset=ds, name=f)
    return ds


def fld(ds: Dataset, name: str) -> DatasetField:
    return DatasetField.objects.get_or_create(dataset=ds, name=name)[0]


def flow(src: Dataset, dst: Dataset, columns=(), *, job: str | None = None, cll: bool | None = None) -> Job:
    """A job reading `src` and writing `dst`; columns = (src field, dst field[, type, subtype, masking])."""
    job_row, _ = Job.objects.get_or_create(namespace="etl", name=job or f"{src.name}->{dst.name}")
    LineageEdge.objects.get_or_create(
        job=job_row, source=src, target=dst, defaults={"has_column_lineage": bool(columns) if cll is None else cll}
    )
    for spec in columns:
        s, d, type_, subtype, masking = (*spec, *("DIRECT", "IDENTITY", False)[len(spec) - 2 :])
        ColumnEdge.objects.get_or_create(
            job=job_row, source_field=fld(src, s), target_field=fld(dst, d), transformation_type=type_,
            subtype=subtype, defaults={"masking": masking},
        )  # fmt: skip
    return job_row


def model_dataset(project, model: str, *, version: str = "1", inputs=(), registry=None, mv=None) -> Dataset:
    """The MODEL dataset of a version of `model` linked to `project`, trained (no column lineage) on `inputs`."""
    mv = mv or linked_version(project, model=model, version=version, registry=registry)
    ds = dataset(f"models:/{model}/{version}", namespace="mlflow://registry", model_version=mv, dataset_type="MODEL")
    for src in inputs:
        flow(src, ds, job=f"train {model}")
    return ds
