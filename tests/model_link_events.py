"""OpenLineage events for the model-link tests (tests/governance/test_lineage_model_links*.py): a source
whose producer tags `email` as PII, a training set derived from it column by column, and the model dataset
trained on it, posted through POST /api/v1/lineage."""

from __future__ import annotations

import json

from projects import events
from projects.models import ModelVersion

URL = "/api/v1/lineage"
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PG = "postgres://crm:5432"
MLFLOW = "http://mlflow.example:5000"
F = {"_producer": "https://example.org/etl", "_schemaURL": "https://example.org/facet.json"}


def schema(*names):
    return {**F, "fields": [{"name": n, "type": "string"} for n in names]}


def tags(*pairs):
    return {**F, "tags": [{"key": "pii", "value": kind, "field": field, "source": "CONFIG"} for field, kind in pairs]}


def run_event(run: int, job: str, inputs, outputs) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T10:00:00Z",
        "producer": "https://example.org/etl",
        "schemaURL": RUN_EVENT_URL,
        "run": {"runId": f"0196a1f0-0000-7000-8000-{run:012d}"},
        "job": {"namespace": "etl", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def customers(tagged=(("email", "email"),)):
    return {
        "namespace": PG,
        "name": "crm.customers",
        "facets": {"schema": schema("id", "email"), "tags": tags(*tagged)},
    }


def training_set():
    lineage = {
        **F,
        "fields": {"email": {"inputFields": [{"namespace": PG, "name": "crm.customers", "field": "email"}]}},
    }
    return {"namespace": PG, "name": "features.train", "facets": {"schema": schema("email"), "columnLineage": lineage}}


def model_doc(name="fraud", version="6", **facets):
    return {"namespace": MLFLOW, "name": f"models:/{name}/{version}", "facets": facets}


def keel_doc(name: str, model: str, version: str, registry: str = "mlflow-prod", **facets):
    facet = {**F, "registry": registry, "model": model, "version": version}
    return {"namespace": "s3://models", "name": name, "facets": {"keelModelVersion": facet, **facets}}


def post(client, body, **extra) -> dict:
    response = client.post(URL, data=json.dumps(body), content_type="application/json", **extra)
    assert response.status_code in (200, 201), response.content
    return response.json()


def post_pipeline(client, model=None) -> None:
    post(client, run_event(1, "build_features", [customers()], [training_set()]))
    post(client, run_event(2, "train", [{"namespace": PG, "name": "features.train"}], [model or model_doc()]))


def synced(*versions: ModelVersion) -> None:
    """What projects/registries/sync.py sends, inside its transaction, for the versions it created or changed."""
    events.model_versions_synced.send(sender=ModelVersion, versions=list(versions))
