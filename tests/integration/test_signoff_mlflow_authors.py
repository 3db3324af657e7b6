"""Separation of duties against a real MLflow server with basic-auth: alice trains and registers a version
through MLflow's own client, signed in to MLflow as alice; Keel reads her from the version's run (MLflow 3
leaves the version's user empty) and keeps her — and her Keel account under another name, once mapped —
from approving it. A version whose author MLflow does not know (no run, or a run whose client named no
user) costs one more approver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.errors import PermissionDeniedError
from core.roles import Role
from governance.audit.chain import verify_chain
from governance.models import AuditEvent, SignOffStatus
from governance.signoff import services as signoff
from governance.signoff.eligibility import approvals_outstanding
from projects.models import AuthorSource, ModelVersion, RegistryKind
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from tests.conftest import need_service
from tests.factories import make_user
from tests.integration.registry_servers import MlflowServer, require_mlflow
from tests.signoff_factories import assess, compliance_officer, pending_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ADMIN_PASSWORD = "Keel-Admin-Pw-2026"
READER, READER_PASSWORD = "keel-sync", "Keel-Sync-Pw-2026"
ALICE_PASSWORD = "Alice-Pw-2026-mlflow"
USER_ENV, PASSWORD_ENV = "KEEL_REGISTRY_AUTHORS_USER", "KEEL_REGISTRY_AUTHORS_PASSWORD"

# Run as alice, in her own process: MLflow's client signs in with MLFLOW_TRACKING_USERNAME/PASSWORD, and
# its fluent API names the run's user after the OS user, as on a data scientist's machine.
AS_ALICE = """
import sys
import mlflow
from mlflow import MlflowClient

model, project, how = sys.argv[1:4]
client = MlflowClient()
client.create_registered_model(model, tags={"keel.project": project})
run_id = None
if how == "fluent-run":
    mlflow.set_experiment(model + "-training")
    with mlflow.start_run() as run:
        mlflow.log_metric("auc", 0.91)
    run_id = run.info.run_id
elif how == "client-run":  # MlflowClient.create_run names no user unless given an mlflow.user tag
    run_id = client.create_run(client.create_experiment(model + "-training")).info.run_id
client.create_model_version(model, source="s3://models/" + model + "/1", run_id=run_id)
"""


@pytest.fixture(scope="module")
def auth_mlflow(tmp_path_factory) -> Iterator[MlflowServer]:
    require_mlflow()
    try:
        import flask_wtf  # noqa: F401 - MLflow's basic-auth app needs it
    except ImportError:
        need_service(False, "mlflow[auth] (Flask-WTF; pip install -e '.[dev]')")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-authors"), admin_password=ADMIN_PASSWORD).start()
    try:
        server.create_user(READER, READER_PASSWORD)
        server.create_user("alice", ALICE_PASSWORD)
        yield server
    finally:
        server.stop()


def register_as_alice(server: MlflowServer, tmp_path, *, model: str, project, how: str) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_TRACKING_USERNAME": "alice",
        "MLFLOW_TRACKING_PASSWORD": ALICE_PASSWORD,
        "USER": "alice",
        "LOGNAME": "alice",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", AS_ALICE, model, project.slug, how],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def synced(auth_mlflow, tmp_path, monkeypatch, project):
    """Register a version as alice, sync Keel (reading MLflow as its own reader account), return Keel's row."""
    monkeypatch.setenv(USER_ENV, READER)
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)
    registry = registry_services.registry_create(
        by=None, name="mlflow-authors", kind=RegistryKind.MLFLOW, base_url=auth_mlflow.url,
        username_env=USER_ENV, secret_env=PASSWORD_ENV,
    )  # fmt: skip
    assess(project, "minimal")  # policy: one risk officer

    def sync(model: str, how: str) -> ModelVersion:
        register_as_alice(auth_mlflow, tmp_path, model=model, project=project, how=how)
        run = registry_sync_service.registry_sync(registry=registry)
        assert run.status == "succeeded", run.error
        return ModelVersion.objects.select_related("registered_model__registry").get(
            registered_model__name=model, version="1"
        )

    sync.registry = registry
    return sync


def test_alice_who_registered_the_version_in_mlflow_cannot_approve_it_in_keel(synced, team_lead, risk_officer):
    alice = make_user("alice", Role.RISK_OFFICER)
    version = synced("alice-fraud-fluent", "fluent-run")
    assert (version.created_by, version.author_source) == ("alice", AuthorSource.RUN)

    request = pending_request(version, team_lead)
    assert (request.version_author, request.author_unknown) == (alice, False)
    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=alice, request=request, verdict="approve")
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == (SignOffStatus.PENDING, 0)

    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert request.status == SignOffStatus.APPROVED
    assert verify_chain().ok


def test_alices_keel_account_under_another_name_cannot_approve_once_mapped(synced, team_lead, risk_officer):
    asmith = make_user("asmith", Role.RISK_OFFICER, email="alice.smith@example.org")
    registry_services.registry_author_map(by=None, registry=synced.registry, registry_user="alice", user=asmith)
    version = synced("alice-churn-mapped", "fluent-run")

    request = pending_request(version, team_lead)
    assert request.version_author == asmith
    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=asmith, request=request, verdict="approve")
    assert request.decisions.count() == 0
    assert AuditEvent.objects.filter(action="registry_author.mapped").count() == 1
    assert verify_chain().ok


@pytest.mark.parametrize("how", ["no-run", "client-run"])
def test_a_version_whose_author_mlflow_does_not_know_needs_one_more_approver(synced, team_lead, risk_officer, how):
    version = synced(f"unknown-author-{how}", how)
    assert (version.created_by, version.author_source) == ("", "")

    request = pending_request(version, team_lead)
    assert request.author_unknown is True
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert request.status == SignOffStatus.PENDING
    assert approvals_outstanding(request, list(request.decisions.all())) == [
        "1 more distinct approver (the version's author is unknown)"
    ]

    signoff.signoff_decide(by=compliance_officer(), request=request, verdict="approve")
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == (SignOffStatus.APPROVED, 2)
    assert verify_chain().ok
