"""Sign-off against a real MLflow server: a version put on the production alias without approval
is a finding after the next sync, and (opt-in per registry) Keel writes keel.signoff=<status> back
onto the MLflow model version when a sign-off is approved or stops being valid.
"""

from __future__ import annotations

from unittest import mock

import pytest

from governance import tasks
from governance.audit.chain import verify_chain
from governance.models import AuditEvent, Finding, FindingKind
from governance.signoff.writeback import signoff_write_back
from projects.models import ModelVersion, RegistryKind
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from tests.integration.registry_servers import mlflow_client
from tests.signoff_factories import approved_request, assess

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def client(mlflow_server):
    return mlflow_client(mlflow_server.url)


def make_registry(mlflow_server, *, write_back: bool):
    return registry_services.registry_create(
        by=None, name="mlflow-prod", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url, write_back_signoff=write_back
    )


def keel_version(name: str, version: str = "1") -> ModelVersion:
    return ModelVersion.objects.get(registered_model__name=name, version=version)


def trained_run(client) -> str:
    """A run started by a data scientist: its versions have a known author (the run's user), so the
    policy's approvers suffice (an unknown author would need one more)."""
    experiment = client.get_experiment_by_name("fraud") or None
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("fraud")
    return client.create_run(experiment_id, tags={"mlflow.user": "data-scientist"}).info.run_id


@pytest.fixture
def scoring_model(client, project):
    """fraud-scorer in MLflow, tagged with the project, one version with a pinned digest."""
    assess(project, "minimal")
    client.create_registered_model("fraud-scorer", tags={"keel.project": project.slug})
    client.create_model_version(
        "fraud-scorer", source="s3://models/fraud-scorer/1", run_id=trained_run(client),
        tags={"keel.digest": "sha256:aaa"},
    )  # fmt: skip
    return "fraud-scorer"


def test_a_version_given_the_production_alias_without_approval_is_a_finding_after_the_next_sync(
    mlflow_server, client, project, scoring_model, team_lead, risk_officer
):
    registry = make_registry(mlflow_server, write_back=False)
    registry_sync_service.registry_sync(registry=registry)
    assert Finding.objects.count() == 0

    client.set_registered_model_alias(scoring_model, "production", "1")
    run = registry_sync_service.registry_sync(registry=registry)

    assert (run.status, run.deployments_started) == ("succeeded", 1)
    version = keel_version(scoring_model)
    [finding] = Finding.objects.filter(kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, resolved_at=None)
    assert (finding.subject_type, finding.subject_id, finding.project) == (
        "projects.modelversion", str(version.pk), project,
    )  # fmt: skip
    assert f"The registry mlflow-prod shows version 1 of {scoring_model} serving production" in finding.detail

    approved_request(version, team_lead, risk_officer)

    finding.refresh_from_db()
    assert finding.resolved_at is not None
    assert verify_chain().ok


def test_the_champion_alias_moving_to_an_unapproved_version_is_a_finding(
    mlflow_server, client, project, scoring_model, team_lead, risk_officer
):
    registry = make_registry(mlflow_server, write_back=False)
    client.set_registered_model_alias(scoring_model, "champion", "1")
    registry_sync_service.registry_sync(registry=registry)
    approved_request(keel_version(scoring_model), team_lead, risk_officer)
    assert not Finding.objects.filter(resolved_at=None).exists()

    client.create_model_version(scoring_model, source="s3://models/fraud-scorer/2", run_id=trained_run(client))
    client.set_registered_model_alias(scoring_model, "champion", "2")
    registry_sync_service.registry_sync(registry=registry)

    [finding] = Finding.objects.filter(kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, resolved_at=None)
    assert finding.subject_id == str(keel_version(scoring_model, "2").pk)


def test_approval_and_invalidation_are_written_back_as_the_keel_signoff_tag(
    mlflow_server, client, project, scoring_model, team_lead, risk_officer, django_capture_on_commit_callbacks
):
    registry = make_registry(mlflow_server, write_back=True)
    registry_sync_service.registry_sync(registry=registry)
    version = keel_version(scoring_model)

    # Approving enqueues the write-back after commit; the task then tags the MLflow version.
    with (
        mock.patch.object(tasks.signoff_write_back, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = approved_request(version, team_lead, risk_officer)
    delay.assert_called_once_with(request.pk)
    assert tasks.signoff_write_back.apply(args=[request.pk]).get() == "approved"

    assert client.get_model_version(scoring_model, "1").tags["keel.signoff"] == "approved"
    event = AuditEvent.objects.get(action="model_version.tag_written")
    assert (event.object_id, event.after) == (
        str(version.pk),
        {"registry": "mlflow-prod", "model": scoring_model, "version": "1", "key": "keel.signoff", "value": "approved"},
    )
    # The next sync reads the tag back like any other, and that alone invalidates nothing.
    registry_sync_service.registry_sync(registry=registry)
    request.refresh_from_db()
    assert request.status == "approved"
    assert keel_version(scoring_model).tags["keel.signoff"] == "approved"

    # The artifact is replaced under the same version: the next sync invalidates the approval.
    client.set_model_version_tag(scoring_model, "1", "keel.digest", "sha256:bbb")
    with (
        mock.patch.object(tasks.signoff_write_back, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        registry_sync_service.registry_sync(registry=registry)
    request.refresh_from_db()
    assert request.status == "invalidated"
    delay.assert_called_once_with(request.pk)
    assert signoff_write_back(request_pk=request.pk) == "invalidated"

    assert client.get_model_version(scoring_model, "1").tags["keel.signoff"] == "invalidated"
    assert list(
        AuditEvent.objects.filter(action="model_version.tag_written")
        .order_by("seq")
        .values_list("after__value", flat=True)
    ) == ["approved", "invalidated"]
    assert verify_chain().ok


def test_a_registry_that_did_not_opt_in_is_never_written_to(
    mlflow_server, client, project, scoring_model, team_lead, risk_officer, django_capture_on_commit_callbacks
):
    registry = make_registry(mlflow_server, write_back=False)
    registry_sync_service.registry_sync(registry=registry)
    with (
        mock.patch.object(tasks.signoff_write_back, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = approved_request(keel_version(scoring_model), team_lead, risk_officer)

    delay.assert_not_called()
    assert signoff_write_back(request_pk=request.pk) == "disabled"
    assert "keel.signoff" not in client.get_model_version(scoring_model, "1").tags
    assert not AuditEvent.objects.filter(action="model_version.tag_written").exists()
