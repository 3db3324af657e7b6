"""Registry faults through Keel's real sync path: a registry that goes away, wrong or missing credentials
(MLflow basic auth, and AWS credentials checked by moto's IAM), throttling, and broken or partial answers.
Whatever goes wrong, nothing Keel already knew is changed, the SyncRun says what happened, and transient
faults are retried a bounded number of times, permanent ones never.

Retries are counted on SyncRun rows: every attempt of the task inserts one (registry_sync's lock row).
`sync_registry.apply()` runs Celery's own retry logic in this process (countdowns are not waited for);
the stopped-registry test proves the same bound with a real worker process too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RegistryKind, SyncRun, SyncStatus
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from projects.registries.adapters.base import PermanentRegistryError, TransientRegistryError
from projects.registries.selectors import registries_with_health
from projects.tasks import sync_registry
from tests.conftest import need_service
from tests.integration.conftest import wait_for
from tests.integration.registry_servers import MlflowServer, MotoServer, mlflow_client, require_mlflow

pytestmark = [pytest.mark.integration]

USER_ENV, PASSWORD_ENV = "KEEL_REGISTRY_TEST_MLFLOW_USER", "KEEL_REGISTRY_TEST_MLFLOW_PASSWORD"
ADMIN_PASSWORD = "Keel-Admin-Pw-2026"
READER, READER_PASSWORD = "keel-sync", "Keel-Sync-Pw-2026"
WORKER_MAX_RETRIES = 2  # the real worker's retry budget in this test (production default: 4)


def state() -> dict:
    """Everything a sync may write, as plain values (SyncRun rows excepted: every attempt adds one)."""
    return {
        "models": list(RegisteredModel.objects.order_by("pk").values()),
        "versions": list(ModelVersion.objects.order_by("pk").values()),
        "deployments": list(DeploymentObservation.objects.order_by("pk").values()),
        "audit": list(AuditEvent.objects.order_by("seq").values_list("seq", "hash")),
    }


def runs(registry) -> list[SyncRun]:
    return list(SyncRun.objects.filter(registry=registry).order_by("started_at", "id"))


# --- (a) the registry goes away -----------------------------------------------------------------


@pytest.fixture
def own_mlflow(tmp_path) -> Iterator[MlflowServer]:
    """A real MLflow server for this test alone, because the test stops it."""
    require_mlflow()
    server = MlflowServer(tmp_path / "mlflow-own").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_registry_stopped_mid_test_is_unhealthy_retries_are_bounded_and_nothing_changes(
    own_mlflow, celery_procs, client, admin_user
):
    registry = registry_services.registry_create(
        by=None, name="mlflow-down", kind=RegistryKind.MLFLOW, base_url=own_mlflow.url
    )
    mlflow = mlflow_client(own_mlflow.url)
    mlflow.create_registered_model("fraud-detector")
    for i in range(2):
        mlflow.create_model_version("fraud-detector", source=f"s3://models/fraud/{i}", run_id="")
    mlflow.set_registered_model_alias("fraud-detector", "champion", "2")
    ok = registry_sync_service.registry_sync(registry=registry)
    assert (ok.status, ok.created) == (SyncStatus.SUCCEEDED, 3)

    own_mlflow.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(own_mlflow.url, timeout=2)
    before = state()

    # 1. Celery's retry policy, run in this process: 1 + max_retries attempts, then the task fails.
    result = sync_registry.apply(args=[registry.pk])

    assert result.state == "FAILURE"
    assert isinstance(result.result, TransientRegistryError)
    failed = runs(registry)[1:]
    assert len(failed) == 1 + sync_registry.max_retries == 5
    for run in failed:
        assert (run.status, run.error_transient) == (SyncStatus.FAILED, True)
        assert run.error.startswith(f"Cannot connect to MLflow at {own_mlflow.url}")
        assert "Connection refused" in run.error
        assert run.finished_at is not None
        assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    assert state() == before

    # The registry shows as unhealthy, with the error and the age of the data Keel still has.
    health = registries_with_health().get(pk=registry.pk)
    assert health.latest_status == SyncStatus.FAILED
    assert health.latest_error == failed[-1].error
    assert health.last_success_at == ok.finished_at
    assert health.last_attempt_at == failed[-1].started_at > health.last_success_at
    assert timezone.now() - health.last_success_at > dt.timedelta(0)
    assert health.model_count == 1  # the data is still there, only older
    client.force_login(admin_user)
    response = client.get(reverse("projects:registries"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "mlflow-down" in html
    assert "Cannot connect to MLflow" in html  # the error
    assert re.search(r"(\d+\xa0(second|minute)s?) ago", html)  # the data's age, e.g. "synced 8 seconds ago"

    # 2. The same with a real worker process: its retries are real messages with real (tiny) countdowns.
    worker = celery_procs.worker(
        pool="prefork",
        env={
            "KEEL_SYNC_MAX_RETRIES": str(WORKER_MAX_RETRIES),
            "KEEL_SYNC_RETRY_BACKOFF": "1",
            "KEEL_SYNC_RETRY_BACKOFF_MAX": "1",
        },
    )
    task = sync_registry.delay(registry.pk)
    wait_for(
        lambda: f"projects.tasks.sync_registry[{task.id}] raised unexpected" in worker.read_log(),
        timeout=60,
        what="the worker to give up on the sync after its retries",
        watch=(worker,),
    )
    by_worker = list(SyncRun.objects.filter(registry=registry, task_id=task.id))
    assert len(by_worker) == 1 + WORKER_MAX_RETRIES
    assert {(r.status, r.error_transient) for r in by_worker} == {(SyncStatus.FAILED, True)}
    assert worker.read_log().count(f"projects.tasks.sync_registry[{task.id}] retry") == WORKER_MAX_RETRIES
    assert "TransientRegistryError" in worker.read_log()
    assert state() == before
    assert not SyncRun.objects.filter(status=SyncStatus.RUNNING).exists()
    assert verify_chain().ok


# --- (b) wrong or missing credentials ------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_mlflow(tmp_path_factory) -> Iterator[MlflowServer]:
    """MLflow's basic-auth app, with one model in it and a read-only user for Keel."""
    try:
        import flask_wtf  # noqa: F401 - MLflow's basic-auth app needs it
    except ImportError:
        need_service(False, "mlflow[auth] (Flask-WTF; pip install -e '.[dev]')")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-auth"), admin_password=ADMIN_PASSWORD).start()
    try:
        server.create_user(READER, READER_PASSWORD)
        api = f"{server.url}/api/2.0/mlflow"
        for path, body in (
            ("registered-models/create", {"name": "credit-risk", "tags": [{"key": "owner", "value": "risk"}]}),
            ("model-versions/create", {"name": "credit-risk", "source": "s3://models/credit/1"}),
            ("registered-models/alias", {"name": "credit-risk", "alias": "production", "version": "1"}),
        ):
            requests.post(f"{api}/{path}", json=body, auth=server.auth, timeout=30).raise_for_status()
        yield server
    finally:
        server.stop()


@pytest.fixture
def auth_registry(auth_mlflow, db):
    return registry_services.registry_create(
        by=None,
        name="mlflow-auth",
        kind=RegistryKind.MLFLOW,
        base_url=auth_mlflow.url,
        username_env=USER_ENV,
        secret_env=PASSWORD_ENV,
    )


@pytest.mark.django_db
def test_wrong_credentials_are_a_clear_error_and_are_not_retried(auth_registry, monkeypatch):
    monkeypatch.setenv(USER_ENV, READER)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    before = state()

    result = sync_registry.apply(args=[auth_registry.pk])

    assert result.state == "FAILURE"
    assert isinstance(result.result, PermanentRegistryError)
    assert result.result.status == 401
    (run,) = runs(auth_registry)  # exactly one attempt
    assert (run.status, run.error_transient) == (SyncStatus.FAILED, False)
    assert run.error.startswith("MLflow refused Keel's credentials (401)")
    assert "check the registry's credential variables" in run.error
    assert "not-the-password" not in run.error  # the secret itself is never stored
    assert state() == before
    assert registries_with_health().get(pk=auth_registry.pk).latest_error == run.error

    # The right credentials: the same task syncs.
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)
    result = sync_registry.apply(args=[auth_registry.pk])

    assert result.state == "SUCCESS"
    assert runs(auth_registry)[-1].status == SyncStatus.SUCCEEDED
    version = ModelVersion.objects.get(registered_model__name="credit-risk")
    assert (version.version, version.source) == ("1", "s3://models/credit/1")
    assert version.deployments.get(observed_until=None).name == "production"
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_missing_credential_variable_is_a_clear_error_and_is_not_retried(auth_registry, monkeypatch):
    monkeypatch.setenv(USER_ENV, READER)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)

    result = sync_registry.apply(args=[auth_registry.pk])

    assert result.state == "FAILURE"
    assert isinstance(result.result, PermanentRegistryError)
    (run,) = runs(auth_registry)
    assert (run.status, run.error_transient) == (SyncStatus.FAILED, False)
    assert run.error == (
        f"Environment variable {PASSWORD_ENV} (named by registry mlflow-auth as secret_env) is not set."
    )
    assert not ModelVersion.objects.exists()


@pytest.fixture
def moto_with_iam(tmp_path) -> Iterator[tuple[MotoServer, str, str]]:
    """A moto server that checks credentials, and the key id and secret of a user allowed to use SageMaker."""
    server = MotoServer(tmp_path / "moto-iam", authenticate_after=3).start()
    try:
        iam = boto3.client(
            "iam", endpoint_url=server.url, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="keel-sync")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="keel-sync", PolicyName="registry", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="keel-sync")["AccessKey"]
        yield server, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.stop()


@pytest.mark.django_db
def test_wrong_aws_credentials_are_a_clear_error_and_are_not_retried(moto_with_iam, monkeypatch):
    server, key_id, secret = moto_with_iam
    boto3.client(
        "sagemaker", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
    ).create_model_package_group(ModelPackageGroupName="fraud-detector")  # fmt: skip
    registry = registry_services.registry_create(
        by=None, name="sagemaker-iam", kind=RegistryKind.SAGEMAKER, base_url=server.url, region="us-east-1",
        username_env=USER_ENV, secret_env=PASSWORD_ENV,
    )  # fmt: skip
    monkeypatch.setenv(USER_ENV, key_id)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-secret-access-key")
    before = state()

    result = sync_registry.apply(args=[registry.pk])

    assert result.state == "FAILURE"
    assert isinstance(result.result, PermanentRegistryError)
    (run,) = runs(registry)
    assert (run.status, run.error_transient) == (SyncStatus.FAILED, False)
    assert run.error.startswith("SageMaker refused Keel's credentials (403 SignatureDoesNotMatch)")
    assert "check the registry's credential variables" in run.error
    assert "not-the-secret-access-key" not in run.error
    assert state() == before

    monkeypatch.setenv(PASSWORD_ENV, secret)
    assert sync_registry.apply(args=[registry.pk]).state == "SUCCESS"
    assert RegisteredModel.objects.filter(registry=registry, name="fraud-detector").exists()


# --- (d) broken or partial answers --------------------------------------------------------------


class StubMlflow:
    """A tiny MLflow look-alike on 127.0.0.1 that serves canned pages and breaks them on demand.

    Versions come two to a page, so a sweep takes several requests. `fault = (path, page, kind)`
    breaks the answer to that path (page None: the first page, "2": the second).
    """

    def __init__(self):
        self.versions = [self._version("1"), self._version("2"), self._version("3")]
        self.model = {
            "name": "stub-model",
            "creation_timestamp": 1_795_000_000_000,
            "last_updated_timestamp": 1_795_000_000_000,
            "description": "served by a stub",
            "aliases": [{"alias": "champion", "version": "1"}],
        }
        self.fault: tuple[str, str | None, str] | None = None
        self.hits: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
        self.server.daemon_threads = True
        self.server.stub = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _version(v: str) -> dict:
        return {
            "name": "stub-model",
            "version": v,
            "creation_timestamp": 1_795_000_000_000 + int(v),
            "last_updated_timestamp": 1_795_000_000_000 + int(v),
            "current_stage": "None",
            "description": f"version {v}",
            "source": f"s3://stub/{v}",
            "status": "READY",
        }

    def page(self, path: str, token: str | None) -> dict:
        if path == "model-versions/search":
            start = int(token or 0)
            body = {"model_versions": self.versions[start : start + 2]}
            if start + 2 < len(self.versions):
                body["next_page_token"] = str(start + 2)
            return body
        if path == "registered-models/search":
            return {"registered_models": [self.model]}
        raise KeyError(path)


class _StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        stub: StubMlflow = self.server.stub
        url = urlsplit(self.path)
        path = url.path.removeprefix("/api/2.0/mlflow/")
        token = parse_qs(url.query).get("page_token", [None])[0]
        stub.hits.append(f"{path}?page_token={token}")
        try:
            body = stub.page(path, token)
        except KeyError:
            self.send_error(404)
            return
        kind = stub.fault[2] if stub.fault and stub.fault[:2] == (path, token) else None
        if kind == "missing_field":
            body["model_versions"] = [{k: v for k, v in mv.items() if k != "name"} for mv in body["model_versions"]]
        if kind == "wrong_shape":
            body = {"registered_models": {"name": "stub-model"}}
        data = json.dumps(body).encode()
        if kind == "truncated_json":
            data = data[: len(data) // 2]  # a well-formed HTTP answer whose JSON stops halfway
        if kind == "not_json":
            data = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if kind == "not_json" else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "drop":  # promise the whole body, send half, and hang up
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub() -> Iterator[StubMlflow]:
    server = StubMlflow()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


FAULTS = {
    "first page is cut-off JSON": (("model-versions/search", None, "truncated_json"), "is not JSON"),
    "first page is an HTML page": (("model-versions/search", None, "not_json"), "is not JSON"),
    "second page hangs up midway": (("model-versions/search", "2", "drop"), "broke off its answer"),
    "alias call hangs up midway": (("registered-models/search", None, "drop"), "broke off its answer"),
    "a record lacks its name": (("model-versions/search", "2", "missing_field"), "malformed record"),
    "model list is not a list": (("registered-models/search", None, "wrong_shape"), "malformed registered_models"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(FAULTS))
def test_a_broken_or_partial_answer_writes_nothing(stub, case):
    fault, message = FAULTS[case]
    registry = registry_services.registry_create(by=None, name="stub", kind=RegistryKind.MLFLOW, base_url=stub.url)
    first = registry_sync_service.registry_sync(registry=registry)
    assert (first.status, first.created, first.requests) == (SyncStatus.SUCCEEDED, 4, 3)
    # The registry moves on: an edit, a new version, the alias moved. Then one answer breaks.
    stub.versions[0]["description"] = "edited"
    stub.versions.append(StubMlflow._version("4"))
    stub.model["aliases"] = [{"alias": "champion", "version": "4"}]
    stub.fault = fault
    before = state()

    with pytest.raises(TransientRegistryError):
        registry_sync_service.registry_sync(registry=registry)

    failed = runs(registry)[-1]
    assert (failed.status, failed.error_transient) == (SyncStatus.FAILED, True)
    assert message in failed.error
    assert state() == before
    assert f"{fault[0]}?page_token={fault[1]}" in stub.hits

    # Once the registry answers properly again, the same changes are all written, in one go.
    stub.fault = None
    run = registry_sync_service.registry_sync(registry=registry)
    assert (run.status, run.created, run.updated, run.deployments_started, run.deployments_ended) == (
        SyncStatus.SUCCEEDED,
        1,
        1,
        1,
        1,
    )
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_broken_answer_is_retried_within_the_budget_and_then_fails(stub):
    registry = registry_services.registry_create(by=None, name="stub", kind=RegistryKind.MLFLOW, base_url=stub.url)
    stub.fault = ("model-versions/search", None, "truncated_json")

    result = sync_registry.apply(args=[registry.pk])

    assert result.state == "FAILURE"
    assert len(runs(registry)) == 1 + sync_registry.max_retries
    assert {r.status for r in runs(registry)} == {SyncStatus.FAILED}
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="model_version").exists()


class _ThrottlingAws(BaseHTTPRequestHandler):
    """Answers every AWS JSON-protocol call the way AWS throttles: HTTP 400, ThrottlingException."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.django_db
def test_aws_throttling_is_transient_and_retried_within_the_budget(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ThrottlingAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(USER_ENV, "testing")
        monkeypatch.setenv(PASSWORD_ENV, "testing")
        registry = registry_services.registry_create(
            by=None, name="sagemaker-throttled", kind=RegistryKind.SAGEMAKER, region="us-east-1",
            base_url=f"http://127.0.0.1:{server.server_address[1]}", username_env=USER_ENV, secret_env=PASSWORD_ENV,
        )  # fmt: skip

        result = sync_registry.apply(args=[registry.pk])
    finally:
        server.shutdown()
        server.server_close()

    assert isinstance(result.result, TransientRegistryError)
    attempts = runs(registry)
    assert len(attempts) == 1 + sync_registry.max_retries
    assert {(r.status, r.error_transient) for r in attempts} == {(SyncStatus.FAILED, True)}
    assert attempts[0].error == "SageMaker throttled list_model_package_groups: ThrottlingException Rate exceeded"
