"""Keel reads the run behind each MLflow version once: its metrics, params, times, experiment and user,
and takes the version's author from the run when MLflow 3 leaves the version's own user empty."""

from __future__ import annotations

import pytest

from projects.models import AuthorSource, ModelVersion, RegistryKind
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from projects.registries.adapters.mlflow import MlflowAdapter
from tests.integration.registry_servers import mlflow_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def registry(mlflow_server):
    return registry_services.registry_create(
        by=None, name="mlflow-runs", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )


@pytest.fixture
def client(mlflow_server):
    return mlflow_client(mlflow_server.url)


def trained_version(client, name: str, *, user: str = "ravi", auc: float = 0.91) -> str:
    """A run logged by `user` with two metrics (auc logged twice: the latest counts) and 25 params,
    and a version registered from it; returns the run id."""
    experiment = client.get_experiment_by_name("keel-runs") or None
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("keel-runs")
    run = client.create_run(experiment_id, tags={"mlflow.user": user})
    run_id = run.info.run_id
    client.log_metric(run_id, "auc", 0.5, timestamp=1_700_000_000_000, step=0)
    client.log_metric(run_id, "auc", auc, timestamp=1_700_000_100_000, step=1)
    client.log_metric(run_id, "log_loss", 0.25, timestamp=1_700_000_100_000, step=1)
    for i in range(25):
        client.log_param(run_id, f"p{i:02d}", str(i))
    client.set_terminated(run_id)
    if not client.search_registered_models(filter_string=f"name='{name}'"):
        client.create_registered_model(name)
    client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    return run_id


def test_sync_stores_the_runs_metrics_params_times_experiment_and_author(registry, client):
    run_id = trained_version(client, "scorer", user="ravi", auc=0.93)

    sync_run = registry_sync_service.registry_sync(registry=registry)

    version = ModelVersion.objects.get(registered_model__name="scorer", version="1")
    assert version.run_id == run_id
    assert version.run_fetched_id == run_id
    assert version.metrics["auc"]["value"] == pytest.approx(0.93)
    assert version.metrics["auc"]["step"] == 1
    assert version.metrics["auc"]["timestamp"].startswith("2023-11-14T22:")
    assert version.metrics["log_loss"]["value"] == pytest.approx(0.25)
    assert version.run_params_count == 25
    assert sorted(version.run_params) == [f"p{i:02d}" for i in range(20)]
    assert version.experiment_id == client.get_experiment_by_name("keel-runs").experiment_id
    assert version.run_status == "FINISHED"
    assert version.run_started_at is not None
    assert version.run_ended_at >= version.run_started_at
    assert version.run_user_id == "ravi"
    # MLflow 3 registers the version with no user of its own: the author is the run's user.
    assert (version.created_by, version.author_source) == ("ravi", AuthorSource.RUN)
    # Two searches and one run.
    assert sync_run.requests == 3


def test_a_sync_with_nothing_new_reads_no_run_again(registry, client):
    trained_version(client, "scorer")
    registry_sync_service.registry_sync(registry=registry)

    again = registry_sync_service.registry_sync(registry=registry)

    assert (again.requests, again.updated, again.unchanged) == (2, 0, 1)
    trained_version(client, "scorer", auc=0.95)
    third = registry_sync_service.registry_sync(registry=registry)
    # Only the new version's run is read.
    assert (third.requests, third.created) == (3, 1)
    assert ModelVersion.objects.get(version="2").metrics["auc"]["value"] == pytest.approx(0.95)


def test_a_version_without_run_or_user_has_an_unknown_author(registry, client):
    client.create_registered_model("manual")
    client.create_model_version("manual", source="s3://models/manual/1", run_id="")

    sync_run = registry_sync_service.registry_sync(registry=registry)

    version = ModelVersion.objects.get(registered_model__name="manual")
    assert (version.created_by, version.author_source, version.metrics) == ("", AuthorSource.UNKNOWN, {})
    assert sync_run.requests == 2


def test_a_run_mlflow_no_longer_has_is_stored_as_missing_and_not_asked_again(registry, client, mlflow_server):
    run_id = trained_version(client, "scorer")
    client.delete_run(run_id)
    # A deleted run is still answered by runs/get; ask the adapter for one that never existed.
    missing = MlflowAdapter(mlflow_server.url).fetch_run("0" * 32)
    assert (missing.found, missing.metrics) == (False, {})
