"""The demo MLflow server, as seed_demo_mlflow fills it, gives each version a finished run with its
metrics and its data scientist: after a sync every demo version has a known author (from the run) and
the metrics the sign-off page compares."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from projects.management.commands import seed_demo_mlflow as demo_mlflow
from projects.models import AuthorSource, ModelVersion, RegistryKind
from projects.registries import services as registry_services
from projects.registries.sync import registry_sync

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_demo_versions_have_runs_with_metrics_and_a_known_author(mlflow_server, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.KEEL_DEMO_MLFLOW = False
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_mlflow", url=mlflow_server.url, stdout=io.StringIO())
    registry = registry_services.registry_create(
        by=None, name="demo-runs", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )

    run = registry_sync(registry=registry)

    versions = ModelVersion.objects.filter(registered_model__registry=registry)
    assert run.versions_seen == versions.count() == sum(model[4] for model in demo_mlflow.MODELS)
    assert set(versions.values_list("author_source", flat=True)) == {AuthorSource.RUN}
    v3, v4 = (versions.get(registered_model__name="claims-fraud-scorer", version=v) for v in ("3", "4"))
    assert (v4.created_by, v4.run_status, v4.run_params_count) == ("ds-claims", "FINISHED", 3)
    assert v4.metrics["auc"]["value"] > v3.metrics["auc"]["value"]
    # A second seed changes nothing, and a second sync reads no run again.
    call_command("seed_demo_mlflow", url=mlflow_server.url, stdout=io.StringIO())
    again = registry_sync(registry=registry)
    assert (again.created, again.updated, again.requests) == (0, 0, 2)
