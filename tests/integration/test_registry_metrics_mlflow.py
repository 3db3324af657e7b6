"""Metrics from a real MLflow server: what a version's run and its MLflow 3 logged model say reaches Keel
after a sync, a policy threshold not met denies the gate with that reason, and a new evaluation run with a
breaching metric opens a finding and flags the sign-off."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, Finding, FindingKind
from governance.signoff import services as signoff_services
from projects.models import MetricSource, ModelVersion, RegistryKind, VersionMetric
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from tests.integration.registry_servers import mlflow_client
from tests.signoff_factories import approved_request, assess, new_signing_key_pem

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
GATE = "/api/v1/gate"


@pytest.fixture(autouse=True)
def gate_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()


@pytest.fixture
def ml(mlflow_server):
    return mlflow_client(mlflow_server.url)


@pytest.fixture
def registry(mlflow_server):
    return registry_services.registry_create(
        by=None, name="mlflow-metrics", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )


def experiment(ml) -> str:
    found = ml.get_experiment_by_name("keel-metrics")
    return found.experiment_id if found else ml.create_experiment("keel-metrics")


def evaluate(ml, model_id: str, auc: float, *, dataset: str = "holdout") -> str:
    """An evaluation run that logs auc on the logged model, measured on `dataset` (MLflow 3)."""
    run_id = ml.create_run(experiment(ml), tags={"mlflow.user": "evaluator"}).info.run_id
    ml.log_metric(run_id, "auc", auc, model_id=model_id, dataset_name=dataset, dataset_digest="d1g357")
    ml.set_terminated(run_id)
    return run_id


def trained_version(ml, project, *, auc: float) -> tuple[str, str]:
    """A training run (log_loss on the run), a logged model evaluated on holdout, and version 1 of
    fraud-scorer registered from it, tagged with the project. Returns (run id, logged model id)."""
    run_id = ml.create_run(experiment(ml), tags={"mlflow.user": "data-scientist"}).info.run_id
    ml.log_metric(run_id, "log_loss", 0.25, timestamp=1_700_000_100_000, step=3)
    logged = ml.create_logged_model(experiment(ml), name="model", source_run_id=run_id)
    ml.log_metric(run_id, "auc", auc, model_id=logged.model_id, dataset_name="holdout", dataset_digest="d1g357")
    ml.finalize_logged_model(logged.model_id, "READY")
    ml.set_terminated(run_id)
    ml.create_registered_model("fraud-scorer", tags={"keel.project": project.slug})
    ml.create_model_version(
        "fraud-scorer", source=f"models:/{logged.model_id}", run_id=run_id, model_id=logged.model_id
    )
    return run_id, logged.model_id


def require_auc(tier: str = "minimal", *, extra: list[dict] | None = None) -> None:
    signoff_services.signoff_policy_publish(
        by=None, tier=tier, required_roles=["Risk Officer"], min_approvers=1, recertify_days=None,
        metric_requirements=[{"metric": "auc", "direction": "higher", "threshold": 0.75, "dataset_name": "holdout"},
                             *(extra or [])],
    )  # fmt: skip


def ask_gate(client, user) -> dict:
    client.force_login(user)
    response = client.get(
        GATE, {"registry": "mlflow-metrics", "model": "fraud-scorer", "version": "1", "environment": "production"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_metrics_of_the_run_and_the_logged_model_appear_after_sync(registry, ml, project):
    run_id, model_id = trained_version(ml, project, auc=0.91)

    sync_run = registry_sync_service.registry_sync(registry=registry)

    version = ModelVersion.objects.get(registered_model__name="fraud-scorer", version="1")
    rows = {(m.key, m.dataset_name): m for m in VersionMetric.objects.filter(version=version)}
    assert sorted(rows) == [("auc", "holdout"), ("log_loss", "")]
    auc = rows[("auc", "holdout")]
    assert (auc.value, auc.source, auc.run_id, auc.dataset_digest) == (
        pytest.approx(0.91), MetricSource.LOGGED_MODEL, run_id, "d1g357",
    )  # fmt: skip
    loss = rows[("log_loss", "")]
    assert (loss.value, loss.source, loss.step) == (pytest.approx(0.25), MetricSource.RUN, 3)
    assert loss.timestamp.isoformat().startswith("2023-11-14T22:")
    # Two searches, the run, and the logged model.
    assert sync_run.requests == 4
    event = AuditEvent.objects.get(action="model_version.metrics_synced", object_id=str(version.pk))
    assert event.after == {"auc@holdout": pytest.approx(0.91), "log_loss": pytest.approx(0.25)}
    assert model_id.startswith("m-")


def test_a_threshold_not_met_denies_the_gate_and_a_breaching_run_flags_the_signoff_and_opens_a_finding(
    registry, ml, project, team_lead, risk_officer, client
):
    assess(project, "minimal")
    require_auc()
    _, model_id = trained_version(ml, project, auc=0.91)
    registry_sync_service.registry_sync(registry=registry)
    version = ModelVersion.objects.get(registered_model__name="fraud-scorer", version="1")
    request = approved_request(version, team_lead, risk_officer)
    assert (request.metrics_flag, ask_gate(client, team_lead)["allowed"]) == ("", True)

    # A later evaluation on the same model measures auc 0.62 on holdout: no new version, a new run.
    breaching_run = evaluate(ml, model_id, 0.62)
    registry_sync_service.registry_sync(registry=registry)

    metric = VersionMetric.objects.get(version=version, key="auc", dataset_name="holdout")
    assert (metric.value, metric.run_id) == (pytest.approx(0.62), breaching_run)
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.metrics_flag.startswith("auc on holdout is 0.62, which does not meet auc on holdout ≥ 0.75")
    [finding] = Finding.objects.filter(kind=FindingKind.METRIC_THRESHOLD_BREACHED, resolved_at=None)
    assert (finding.subject_type, finding.subject_id, finding.project) == (
        "projects.modelversion", str(version.pk), project,
    )  # fmt: skip
    assert f"Sign-off #{request.pk} is flagged for re-review." in finding.detail
    answer = ask_gate(client, team_lead)
    assert answer["allowed"] is False
    assert [r["code"] for r in answer["reasons"]] == ["metric_requirement_not_met"]
    assert "auc on holdout is 0.62" in answer["reasons"][0]["message"]
    assert AuditEvent.objects.filter(action="signoff.metrics_flagged", object_id=str(request.pk)).count() == 1

    # Re-evaluated above the bar: the finding resolves and the flag clears.
    evaluate(ml, model_id, 0.8)
    registry_sync_service.registry_sync(registry=registry)
    request.refresh_from_db()
    finding.refresh_from_db()
    assert (request.metrics_flag, finding.resolved_at is not None) == ("", True)
    assert ask_gate(client, team_lead)["allowed"] is True
