"""#13 part 2 against a real MLflow server: lineage naming `models:/m/6` arrives before version 6 exists
(the producer emits when training ends; Keel syncs later). After the next sync the version is linked, the
PII tagged at the source reached the model and its project, and the project's obligations exist."""

from __future__ import annotations

import json

import pytest

from governance.models import AuditEvent, Classification, Dataset, Obligation, PendingModelLink
from projects.models import ModelVersion, RegistryKind
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from tests.integration.registry_servers import mlflow_client
from tests.model_link_events import PG, F, run_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def lineage(registry_url: str) -> list[dict]:
    """customers (email tagged PII by its producer) → features.train (column lineage) → models:/m/6."""
    customers = {
        "namespace": PG,
        "name": "crm.customers",
        "facets": {
            "schema": {**F, "fields": [{"name": "id", "type": "int"}, {"name": "email", "type": "string"}]},
            "tags": {**F, "tags": [{"key": "pii", "value": "email", "field": "email", "source": "CONFIG"}]},
        },
    }
    column_lineage = {
        **F,
        "fields": {"email": {"inputFields": [{"namespace": PG, "name": "crm.customers", "field": "email"}]}},
    }
    training = {
        "namespace": PG,
        "name": "features.train",
        "facets": {"schema": {**F, "fields": [{"name": "email", "type": "string"}]}, "columnLineage": column_lineage},
    }
    model = {"namespace": registry_url, "name": "models:/m/6"}  # no datasetType facet: the URI says it
    return [
        run_event(1, "build_features", [customers], [training]),
        run_event(2, "train_m", [{"namespace": PG, "name": "features.train"}], [model]),
    ]


@pytest.mark.parametrize("model_known", [True, False], ids=["versions 1-5 synced before", "model new to Keel"])
def test_lineage_naming_a_version_before_it_exists_is_linked_by_the_next_sync(
    model_known, mlflow_server, client, team_lead, project
):
    registry = registry_services.registry_create(
        by=None, name="mlflow-test", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )
    mlflow = mlflow_client(mlflow_server.url)

    def register(count: int) -> None:
        for i in range(count):
            mlflow.create_model_version("m", source=f"s3://models/m/{i}", run_id="")

    if model_known:  # the model and its first five versions are in Keel, linked to the project by tag
        mlflow.create_registered_model("m", tags={"keel.project": project.slug})
        register(5)
        registry_sync_service.registry_sync(registry=registry)
        assert ModelVersion.objects.filter(registered_model__name="m").count() == 5

    client.force_login(team_lead)  # the pipeline's machine user: team lead of the project's team
    for event in lineage(mlflow_server.url):
        response = client.post("/api/v1/lineage", data=json.dumps(event), content_type="application/json")
        assert response.status_code == 201, response.content
        assert response.json()["refused"] == []
    model_ds = Dataset.objects.get(name="models:/m/6")
    assert model_ds.model_version is None
    assert PendingModelLink.objects.get(dataset=model_ds).resolved_at is None
    assert not Obligation.objects.filter(project=project).exists()

    if model_known:
        register(1)  # MLflow numbers versions in order: this is version 6
    else:
        mlflow.create_registered_model("m", tags={"keel.project": project.slug})
        register(6)
    run = registry_sync_service.registry_sync(registry=registry)
    assert run.status == "succeeded"

    model_ds.refresh_from_db()
    assert model_ds.model_version is not None
    assert (model_ds.model_version.registered_model.name, model_ds.model_version.version) == ("m", "6")
    assert model_ds.model_version.registered_model.project == project
    assert model_ds.model_link_source == "facet"
    # PII reached the model's dataset, hence the project...
    assert set(Classification.objects.filter(dataset=model_ds).values_list("pii_kind", flat=True)) == {"email"}
    # ...and the project's obligations exist (personal data needs a legal basis).
    rules = set(Obligation.objects.filter(project=project).values_list("rule_id", flat=True))
    assert "GDPR-6-BASIS" in rules
    assert PendingModelLink.objects.get(dataset=model_ds).outcome == "linked"
    assert AuditEvent.objects.filter(action="dataset.model_linked", object_id=str(model_ds.pk)).count() == 1
