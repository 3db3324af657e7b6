"""Keel's sync against a real MLflow server: what MLflow's own client writes is what Keel stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RegistryKind, SyncStatus
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from tests.factories import AIProjectFactory
from tests.integration.registry_servers import mlflow_client

if TYPE_CHECKING:
    import mlflow

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def add_versions(client: mlflow.MlflowClient, name: str, count: int, **tags) -> None:
    for i in range(count):
        client.create_model_version(name, source=f"s3://models/{name}/{i}", run_id="", tags=tags or None)


@pytest.fixture
def registry(mlflow_server):
    return registry_services.registry_create(
        by=None, name="mlflow-test", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )


@pytest.fixture
def client(mlflow_server):
    return mlflow_client(mlflow_server.url)


def sync(registry):
    return registry_sync_service.registry_sync(registry=registry)


def test_sync_stores_every_version_with_what_mlflow_says(registry, client):
    client.create_registered_model("fraud-detector", description="Card fraud scoring")
    add_versions(client, "fraud-detector", 2, team="claims")
    client.update_model_version("fraud-detector", "2", description="retrain #2")

    run = sync(registry)

    assert (run.status, run.created, run.updated, run.unchanged, run.versions_seen) == ("succeeded", 3, 0, 0, 2)
    versions = {v.version: v for v in ModelVersion.objects.filter(registered_model__name="fraud-detector")}
    assert sorted(versions) == ["1", "2"]
    assert versions["2"].description == "retrain #2"
    assert versions["2"].source == "s3://models/fraud-detector/1"
    assert versions["2"].status == "READY"
    assert versions["2"].tags == {"team": "claims"}
    assert versions["2"].registry_created_at is not None
    assert RegisteredModel.objects.get(name="fraud-detector").description == "Card fraud scoring"


def test_alias_moved_from_version_2_to_3_is_two_intervals(registry, client):
    client.create_registered_model("churn")
    add_versions(client, "churn", 3)
    client.set_registered_model_alias("churn", "champion", "2")
    sync(registry)
    client.set_registered_model_alias("churn", "champion", "3")
    run = sync(registry)

    assert (run.deployments_started, run.deployments_ended) == (1, 1)
    intervals = list(
        DeploymentObservation.objects.filter(registered_model__name="churn", signal="alias", name="champion")
        .order_by("observed_from")
        .values_list("version__version", "observed_until")
    )
    assert [v for v, _ in intervals] == ["2", "3"]
    first, second = DeploymentObservation.objects.filter(name="champion").order_by("observed_from")
    assert first.observed_until == second.observed_from
    assert second.observed_until is None
    assert AuditEvent.objects.filter(action="deployment.ended", object_id=str(first.pk)).count() == 1


def test_a_deleted_version_is_marked_deleted_not_removed(registry, client):
    client.create_registered_model("pricing")
    add_versions(client, "pricing", 2)
    sync(registry)
    client.delete_model_version("pricing", "1")
    run = sync(registry)

    assert run.deleted == 1
    v1 = ModelVersion.objects.get(registered_model__name="pricing", version="1")
    assert v1.deleted_at is not None
    assert ModelVersion.objects.get(registered_model__name="pricing", version="2").deleted_at is None


def test_the_keel_project_tag_links_the_model_to_its_project(registry, client):
    project = AIProjectFactory(name="Claims fraud scoring")
    client.create_registered_model("claims-fraud", tags={"keel.project": project.slug})
    add_versions(client, "claims-fraud", 1)
    sync(registry)

    model = RegisteredModel.objects.get(name="claims-fraud")
    assert (model.project, model.link_source) == (project, "tag")
    assert AuditEvent.objects.filter(action="registered_model.linked", object_id=str(model.pk)).count() == 1


def test_a_model_with_a_non_ascii_name_round_trips(registry, client):
    name = "détection-fraude-模型"
    client.create_registered_model(name)
    add_versions(client, name, 1)
    client.set_registered_model_alias(name, "production", "1")
    sync(registry)

    version = ModelVersion.objects.get(registered_model__name=name)
    assert version.deployments.get().name == "production"
    assert verify_chain().ok


def test_a_second_sync_with_nothing_changed_writes_nothing(registry, client):
    client.create_registered_model("stable", tags={"owner": "ops"})
    add_versions(client, "stable", 2)
    client.set_registered_model_alias("stable", "champion", "1")
    client.transition_model_version_stage("stable", "2", "Staging")
    sync(registry)
    events = AuditEvent.objects.count()
    rows = list(ModelVersion.objects.order_by("pk").values())

    run = sync(registry)

    assert (run.status, run.created, run.updated, run.deleted, run.unchanged) == (SyncStatus.SUCCEEDED, 0, 0, 0, 2)
    assert (run.deployments_started, run.deployments_ended) == (0, 0)
    assert AuditEvent.objects.count() == events
    assert list(ModelVersion.objects.order_by("pk").values()) == rows
    assert DeploymentObservation.objects.filter(signal="stage", name="Staging", observed_until=None).count() == 1


def test_changes_are_stored_with_one_audit_event_per_changed_object(registry, client):
    client.create_registered_model("scorer", description="v1 of the docs")
    add_versions(client, "scorer", 3, team="risk")
    client.set_registered_model_alias("scorer", "champion", "1")
    sync(registry)
    client.update_registered_model("scorer", description="better docs")
    client.update_model_version("scorer", "2", description="retrained")
    client.set_model_version_tag("scorer", "3", "governance.approved", "true")
    client.set_registered_model_alias("scorer", "champion", "3")
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()

    run = sync(registry)

    assert (run.created, run.updated, run.deleted, run.unchanged) == (0, 3, 0, 1)
    assert (run.deployments_started, run.deployments_ended) == (1, 1)
    versions = {v.version: v for v in ModelVersion.objects.filter(registered_model__name="scorer")}
    assert versions["2"].description == "retrained"
    assert versions["3"].tags == {"team": "risk", "governance.approved": "true"}
    assert versions["1"].description == ""
    assert RegisteredModel.objects.get(name="scorer").description == "better docs"
    new = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
    assert [(e.action, e.object_id) for e in new] == [
        ("registered_model.updated", str(RegisteredModel.objects.get(name="scorer").pk)),
        ("model_version.updated", str(versions["2"].pk)),
        ("model_version.updated", str(versions["3"].pk)),
        ("deployment.ended", str(DeploymentObservation.objects.get(version=versions["1"]).pk)),
        ("deployment.observed", str(DeploymentObservation.objects.get(version=versions["3"]).pk)),
    ]
    # MLflow bumps last_updated_timestamp on a description change, not on a tag change.
    assert (new[1].before["description"], new[1].after["description"]) == ("", "retrained")
    assert set(new[1].after) == {"description", "registry_updated_at"}
    assert new[2].after == {"tags": {"team": "risk", "governance.approved": "true"}}
    assert verify_chain().ok


def test_sync_registries_command_syncs_and_reports(registry, client, capsys):
    from django.core.management import call_command

    client.create_registered_model("cmd-model")
    add_versions(client, "cmd-model", 2)
    call_command("sync_registries", "--registry", str(registry.pk))
    out = capsys.readouterr().out
    assert "mlflow-test: 2 versions seen; created 3, updated 0, deleted 0, unchanged 0" in out
    call_command("sync_registries")
    assert "created 0, updated 0, deleted 0, unchanged 2" in capsys.readouterr().out


def test_sync_registries_command_fails_clearly_for_an_unknown_registry(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No registry with id 999999"):
        call_command("sync_registries", "--registry", "999999")
