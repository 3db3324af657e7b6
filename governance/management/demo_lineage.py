"""The demo's lineage: the credit-scoring pipeline, raw → cleaned → features → training set → a demo model
version, posted as OpenLineage RunEvents through the real ingest path (lineage_event_ingest), so that
personal data reaches a demo project and its obligations are live on first start.

    crm.public.customers ──clean (masks email, derives age)──▶ analytics.staging.customers_clean
    crm.public.marketing_consents ─(filter only: INDIRECT)──┘
    customers_clean ──build features──▶ analytics.features.credit_features
    credit_features + analytics.loans.repayment_outcomes ──assemble──▶ analytics.training.credit_scorecard_2026q3
    credit_scorecard_2026q3 ──train (no column lineage)──▶ models:/credit-scorecard/3

The CRM's producer tags `customers.email` as an email (a tags facet); the DPO has classified
`date_of_birth` by hand. The rest — names, phone, address, IBAN — is left for the DPO's workspace to
suggest and the DPO to confirm, as the browser journey does.

Idempotent and fast: the events are fixed (deterministic run ids, fixed times), so a second run finds
each stored already ("duplicate") and the classification exists; about a dozen queries per event.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model

from governance.compliance import services as compliance_services
from governance.lineage.ingest import lineage_event_ingest
from governance.models import Classification, Dataset, DatasetField, Origin
from projects.models import Registry

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/airflow"
FACET = "https://openlineage.io/spec/facets/{path}"
CRM = "postgres://crm-db.demo.internal:5432"
WAREHOUSE = "postgres://warehouse.demo.internal:5432"
MODEL, VERSION = "credit-scorecard", "3"  # seed_demo_mlflow.MODELS: Credit scoring's scorecard, in production
DEMO_REGISTRY = "Local MLflow (demo)"
DEMO_MLFLOW_URL = "http://127.0.0.1:5055"

CUSTOMERS = "crm.public.customers"
CONSENTS = "crm.public.marketing_consents"
CLEAN = "analytics.staging.customers_clean"
FEATURES = "analytics.features.credit_features"
OUTCOMES = "analytics.loans.repayment_outcomes"
TRAINING = "analytics.training.credit_scorecard_2026q3"

SCHEMAS = {
    CUSTOMERS: [("customer_id", "bigint"), ("first_name", "varchar"), ("last_name", "varchar"),
                ("email", "varchar"), ("phone", "varchar"), ("date_of_birth", "date"),
                ("street_address", "varchar"), ("postcode", "varchar"), ("iban", "varchar"),
                ("annual_income", "numeric"), ("employment_status", "varchar"), ("signup_date", "date")],
    CONSENTS: [("customer_id", "bigint"), ("marketing_opt_in", "boolean"), ("updated_at", "timestamp")],
    CLEAN: [("customer_id", "bigint"), ("email_sha256", "varchar"), ("phone", "varchar"), ("age", "integer"),
            ("postcode_area", "varchar"), ("iban_country", "varchar"), ("annual_income", "numeric"),
            ("employment_status", "varchar"), ("tenure_months", "integer")],
    FEATURES: [("customer_id", "bigint"), ("age_band", "varchar"), ("income_band", "varchar"),
               ("region", "varchar"), ("has_phone", "boolean"), ("tenure_months", "integer"),
               ("employment_status", "varchar")],
    OUTCOMES: [("customer_id", "bigint"), ("loan_id", "bigint"), ("defaulted", "boolean")],
    TRAINING: [("age_band", "varchar"), ("income_band", "varchar"), ("region", "varchar"),
               ("has_phone", "boolean"), ("tenure_months", "integer"), ("employment_status", "varchar"),
               ("defaulted", "boolean")],
}  # fmt: skip

# job name, time, inputs, output, {output column: [(input, column, type, subtype, masking)]}
_T = ("DIRECT", "TRANSFORMATION")
_I = ("DIRECT", "IDENTITY")
PIPELINE = [
    ("credit.clean_customers", "2026-11-02T02:10:00+00:00", [CUSTOMERS, CONSENTS], CLEAN, {
        "customer_id": [(CUSTOMERS, "customer_id", *_I, False)],
        "email_sha256": [(CUSTOMERS, "email", *_T, True)],
        "phone": [(CUSTOMERS, "phone", *_I, False)],
        "age": [(CUSTOMERS, "date_of_birth", *_T, False)],
        "postcode_area": [(CUSTOMERS, "postcode", *_T, False)],
        "iban_country": [(CUSTOMERS, "iban", *_T, True)],
        "annual_income": [(CUSTOMERS, "annual_income", *_I, False)],
        "employment_status": [(CUSTOMERS, "employment_status", *_I, False)],
        "tenure_months": [(CUSTOMERS, "signup_date", *_T, False)],
    }),
    ("credit.build_features", "2026-11-02T02:40:00+00:00", [CLEAN], FEATURES, {
        "customer_id": [(CLEAN, "customer_id", *_I, False)],
        "age_band": [(CLEAN, "age", *_T, False)],
        "income_band": [(CLEAN, "annual_income", *_T, False)],
        "region": [(CLEAN, "postcode_area", *_T, False)],
        "has_phone": [(CLEAN, "phone", *_T, False)],
        "tenure_months": [(CLEAN, "tenure_months", *_I, False)],
        "employment_status": [(CLEAN, "employment_status", *_I, False)],
    }),
    ("credit.assemble_training_set", "2026-11-02T03:05:00+00:00", [FEATURES, OUTCOMES], TRAINING, {
        **{c: [(FEATURES, c, *_I, False)] for c in ("age_band", "income_band", "region", "has_phone",
                                                     "tenure_months", "employment_status")},
        "defaulted": [(OUTCOMES, "defaulted", *_I, False)],
    }),
]  # fmt: skip
# The CRM's producer tags the email column (OpenLineage tags facet, see docs/lineage.md §1.2).
TAGS = {CUSTOMERS: [{"key": "pii", "value": "email", "source": "CRM data catalogue", "field": "email"}]}
DPO_ASSERTION = (CUSTOMERS, "date_of_birth", "date_of_birth", "Checked with the CRM team: customers' birth dates.")


def _facet(path: str, **body) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": FACET.format(path=path), **body}


def _dataset(namespace: str, name: str, *, lineage: dict | None = None, join=()) -> dict:
    fields = [{"name": n, "type": t} for n, t in SCHEMAS[name]]
    facets = {"schema": _facet("1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", fields=fields)}
    if name in TAGS:
        facets["tags"] = _facet("1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet", tags=TAGS[name])
    if lineage is not None:
        facets["columnLineage"] = _facet(
            "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
            fields={
                out: {"inputFields": [
                    {"namespace": _namespace(src), "name": src, "field": col,
                     "transformations": [{"type": type_, "subtype": subtype, "masking": masking}]}
                    for src, col, type_, subtype, masking in inputs
                ]}
                for out, inputs in lineage.items()
            },
            # The job read these only to filter or join: they contributed no column (spec 1-2 `dataset`).
            dataset=[{"namespace": _namespace(src), "name": src, "field": "customer_id",
                      "transformations": [{"type": "INDIRECT", "subtype": "FILTER" if src == CONSENTS else "JOIN",
                                           "masking": False}]} for src in join],
        )  # fmt: skip
    return {"namespace": namespace, "name": name, "facets": facets}


def _namespace(name: str) -> str:
    return CRM if name.startswith("crm.") else WAREHOUSE


def _event(job: str, time: str, inputs: list[dict], outputs: list[dict], *, namespace: str = "demo-airflow") -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel-demo:{namespace}/{job}@{time}")), "facets": {}},
        "job": {"namespace": namespace, "name": job, "facets": {
            "jobType": _facet("2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet", integration="AIRFLOW",
                              jobType="TASK", processingType="BATCH")}},
        "inputs": inputs,
        "outputs": outputs,
    }  # fmt: skip


def registry_namespace() -> str:
    """The demo registry's URL: ingest looks a `models:/` dataset up in the registry with that base URL."""
    registry = Registry.objects.filter(name=DEMO_REGISTRY).exclude(base_url="").first()
    return registry.base_url.rstrip("/") if registry else DEMO_MLFLOW_URL


def events() -> list[dict]:
    """The pipeline's RunEvents, in the order the scheduler would emit them."""
    out = []
    for job, time, inputs, output, lineage in PIPELINE:
        joins = [i for i in inputs if not any(src == i for cols in lineage.values() for src, *_ in cols)]
        ins = [_dataset(_namespace(i), i) for i in inputs]
        out.append(_event(job, time, ins, [_dataset(_namespace(output), output, lineage=lineage, join=joins)]))
    model = {"namespace": registry_namespace(), "name": f"models:/{MODEL}/{VERSION}", "facets": {
        "datasetType": _facet("1-0-0/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
                              datasetType="MODEL")}}  # fmt: skip
    out.append(_event("credit_scorecard.train", "2026-11-02T04:00:00+00:00",
                      [_dataset(WAREHOUSE, TRAINING)], [model], namespace="demo-mlflow-training"))  # fmt: skip
    return out


def seed_lineage(dpo_username: str) -> dict:
    """Post the pipeline and the DPO's one assertion; returns counts for the seed's summary line."""
    accepted = 0
    for payload in events():
        result = lineage_event_ingest(payload=payload, by=None)
        accepted += result.status == "accepted"
    dataset_name, field_name, kind, note = DPO_ASSERTION
    asserted = 0
    dpo = get_user_model().objects.filter(username=dpo_username).first()
    field = DatasetField.objects.filter(dataset__namespace=CRM, dataset__name=dataset_name, name=field_name).first()
    if dpo is not None and field is not None:
        exists = Classification.objects.filter(field=field, pii_kind=kind, origin=Origin.MANUAL).exists()
        if not exists:
            compliance_services.classification_assert(
                by=dpo, dataset=field.dataset, field=field, pii_kind=kind, note=note
            )
            asserted = 1
    model = Dataset.objects.filter(name=f"models:/{MODEL}/{VERSION}").select_related("model_version").first()
    return {"events": accepted, "asserted": asserted, "linked": bool(model and model.model_version_id)}
