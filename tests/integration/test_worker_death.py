"""A real Celery worker is SIGKILLed in the middle of a registry sync; the restarted worker finishes it.

On Redis, with the sync task's acks_late: the killed worker never acknowledged the message, so it
stays in kombu's unacked set until the visibility timeout and is then delivered again; the running
SyncRun the dead worker left is older than the lock TTL, so it is closed as abandoned and the new
delivery syncs. Its final state must equal an undisturbed sync's, with nothing duplicated.

"In the middle" is made exact rather than left to timing (the sync of 300 versions takes well under
a second). On PostgreSQL this test holds the audit chain's advisory lock, so the worker stops inside
its sync transaction, with rows written but not committed, when it appends its audit events, and is
killed there. On SQLite (one writer, whose lock is taken at BEGIN) a proxy in front of MLflow holds
the sweep's last request, and the worker is killed while it waits for the answer.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection

from governance.audit.chain import PG_CHAIN_LOCK_KEY, verify_chain
from governance.models import AuditEvent, Finding, FindingKind
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RegistryKind, SyncRun, SyncStatus
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from projects.tasks import sync_registry
from tests.conftest import need_service
from tests.factories import AIProjectFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MODELS, VERSIONS_PER_MODEL = 10, 30  # 300 versions
VISIBILITY_TIMEOUT = 10  # seconds, for the restarted worker; longer than its whole sync
SYNC_ACTIONS = ("registered_model.created", "model_version.created", "deployment.observed", "registered_model.linked")


@pytest.fixture
def redis_required():
    """This test is about Redis's unacked-message recovery: skip without Redis (fail in CI)."""
    need_service(bool(settings.REDIS_URL), "Redis (REDIS_URL) for the worker-death test")


def populate(url: str, project_slug: str) -> int:
    """MODELS x VERSIONS_PER_MODEL versions with tags, aliases and one legacy stage; returns the alias count."""
    api = f"{url}/api/2.0/mlflow"

    def post(path: str, body: dict) -> None:
        requests.post(f"{api}/{path}", json=body, timeout=60).raise_for_status()

    names = [f"model-{m:02d}" for m in range(MODELS)]
    for i, name in enumerate(names):
        tags = [{"key": "owner", "value": f"team-{i % 3}"}]
        if i == 0:
            tags.append({"key": "keel.project", "value": project_slug})
        post("registered-models/create", {"name": name, "description": f"model {i}", "tags": tags})

    def create_version(n: int) -> None:
        name = names[n % MODELS]
        post(
            "model-versions/create",
            {
                "name": name,
                "source": f"s3://models/{name}/{n}",
                "description": f"build {n}",
                "tags": [{"key": "build", "value": str(n)}, {"key": "data.snapshot", "value": "2026-11-20"}],
            },
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(create_version, range(MODELS * VERSIONS_PER_MODEL)))
    for name in names:
        post("registered-models/alias", {"name": name, "alias": "champion", "version": str(VERSIONS_PER_MODEL)})
        post("registered-models/alias", {"name": name, "alias": "challenger", "version": str(VERSIONS_PER_MODEL - 1)})
    post(
        "model-versions/transition-stage",
        {"name": names[1], "version": "3", "stage": "Production", "archive_existing_versions": False},
    )
    return 2 * MODELS


def normalized(registry) -> dict[str, list]:
    """A registry's synced state without ids and observation times: what two equal syncs share."""
    models = RegisteredModel.objects.filter(registry=registry)
    versions = ModelVersion.objects.filter(registered_model__registry=registry).select_related("registered_model")
    deployments = DeploymentObservation.objects.filter(registered_model__registry=registry).select_related(
        "registered_model", "version"
    )
    model_fields = ("name", "description", "tags", "registry_created_at", "registry_updated_at", "link_source")
    version_fields = (
        "version", "version_number", "run_id", "source", "status", "description", "tags", "created_by",
        "registry_created_at", "registry_updated_at", "stage", "approval", "raw",
    )  # fmt: skip

    def row(*values) -> str:
        return json.dumps(values, sort_keys=True, default=str)

    return {
        "models": sorted(
            row(*(getattr(m, f) for f in model_fields), m.project_id, m.deleted_at is None) for m in models
        ),
        "versions": sorted(
            row(v.registered_model.name, *(getattr(v, f) for f in version_fields), v.deleted_at is None)
            for v in versions
        ),
        "deployments": sorted(
            row(d.registered_model.name, d.version.version, d.signal, d.name, d.observed_until is None)
            for d in deployments
        ),
    }


# --- how the test catches the worker mid-sync ---------------------------------------------------


def _pg(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _pg_backend_waiting_on_the_chain() -> int | None:
    """The pid of a database backend blocked on the audit chain lock that this test holds."""
    rows = _pg(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [PG_CHAIN_LOCK_KEY],
    )
    return rows[0][0] if rows else None


class HoldingProxy:
    """Forwards GETs to MLflow; a request whose path ends with `hold` waits until `release` is set."""

    def __init__(self, upstream: str, hold: str | None = None):
        self.upstream = upstream
        self.hold = hold
        self.held = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        proxy: HoldingProxy = self.server.proxy
        if proxy.hold and urlsplit(self.path).path.endswith(proxy.hold):
            proxy.held.set()
            proxy.release.wait(120)
        upstream = requests.get(f"{proxy.upstream}{self.path}", timeout=60)
        with contextlib.suppress(OSError):  # the caller may be dead by now
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            self.wfile.write(upstream.content)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(mlflow_server) -> Iterator[HoldingProxy]:
    hold = None if connection.vendor == "postgresql" else "registered-models/search"
    p = HoldingProxy(mlflow_server.url, hold=hold)
    thread = threading.Thread(target=p.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield p
    finally:
        p.release.set()
        p.server.shutdown()
        p.server.server_close()


def test_worker_killed_mid_sync_is_redelivered_and_ends_as_an_undisturbed_sync(
    redis_required, mlflow_server, proxy, celery_procs
):
    import redis

    broker = redis.Redis.from_url(settings.REDIS_URL)
    project = AIProjectFactory(name="Fraud scoring")
    aliases = populate(mlflow_server.url, project.slug)
    versions = MODELS * VERSIONS_PER_MODEL
    registry = registry_services.registry_create(
        by=None, name="mlflow-killed", kind=RegistryKind.MLFLOW, base_url=proxy.url
    )
    audit_before = AuditEvent.objects.count()
    postgres = connection.vendor == "postgresql"

    # 1. A worker starts the sync and is SIGKILLed (its whole process group) in the middle of it.
    if postgres:
        _pg("SELECT pg_advisory_lock(%s)", [PG_CHAIN_LOCK_KEY])
    try:
        first = celery_procs.worker(pool="prefork")
        task = sync_registry.delay(registry.pk)
        if postgres:
            backend = wait_for(
                _pg_backend_waiting_on_the_chain, timeout=60, what="the sync to reach the audit trail",
                watch=(first,),
            )  # fmt: skip
            # It is inside its sync transaction and has written rows that are not committed.
            assert _pg("SELECT backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = %s", [backend]) == [(True,)]
        else:
            wait_for(proxy.held.is_set, timeout=60, what="the sync to ask for the registered models", watch=(first,))
            assert SyncRun.objects.filter(registry=registry, status=SyncStatus.RUNNING).exists()
        first.kill()
        assert not first.alive()
    finally:
        if postgres:
            _pg("SELECT pg_advisory_unlock(%s)", [PG_CHAIN_LOCK_KEY])
        proxy.release.set()
    if postgres:  # the dead worker's backend rolls back and goes away once it can no longer wait
        wait_for(
            lambda: not _pg("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]),
            timeout=30, what="the killed worker's database session to end",
        )  # fmt: skip

    # Killed mid-sync: its SyncRun is still "running", nothing of the sync was committed, and the
    # task's message was never acknowledged.
    (killed_run,) = SyncRun.objects.filter(registry=registry)
    assert (killed_run.status, killed_run.task_id) == (SyncStatus.RUNNING, task.id)
    assert not ModelVersion.objects.exists()
    assert not RegisteredModel.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    assert broker.hlen("unacked") == 1
    assert task.id.encode() in broker.hvals("unacked")[0]

    # 2. A new worker, with a short visibility timeout and lock TTL, gets the same message again.
    second = celery_procs.worker(
        pool="prefork",
        env={
            "KEEL_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "KEEL_BROKER_RESTORE_INTERVAL_SECONDS": "1",
            "KEEL_SYNC_LOCK_TTL_SECONDS": "2",
        },
    )
    done = wait_for(
        lambda: SyncRun.objects.filter(registry=registry, status=SyncStatus.SUCCEEDED).first(),
        timeout=VISIBILITY_TIMEOUT + 45,
        what="the redelivered sync to succeed",
        watch=(second,),
    )
    wait_for(
        lambda: f"projects.tasks.sync_registry[{task.id}] succeeded" in second.read_log(),
        timeout=15, what="the worker to finish the task", watch=(second,),
    )  # fmt: skip
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=10, what="the message to be acknowledged")
    assert broker.llen("registry") == 0  # the sync queue (config/settings.py: CELERY_TASK_ROUTES)

    killed_run.refresh_from_db()
    assert (killed_run.status, killed_run.error) == (SyncStatus.ABANDONED, "worker stopped mid-sync")
    assert done.task_id == task.id  # the same message, delivered again
    assert (done.created, done.updated, done.deleted) == (MODELS + versions, 0, 0)
    assert (done.versions_seen, done.deployments_started) == (versions, aliases + 1)
    assert list(SyncRun.objects.filter(registry=registry).values_list("status", flat=True)) == [
        SyncStatus.SUCCEEDED,
        SyncStatus.ABANDONED,
    ]

    # 3. Nothing is duplicated.
    assert RegisteredModel.objects.filter(registry=registry).count() == MODELS
    pairs = list(ModelVersion.objects.values_list("registered_model__name", "version"))
    assert len(pairs) == len(set(pairs)) == versions
    intervals = list(DeploymentObservation.objects.values_list("registered_model__name", "signal", "name"))
    assert len(intervals) == len(set(intervals)) == aliases + 1
    assert not DeploymentObservation.objects.exclude(observed_until=None).exists()
    sync_events = Counter(
        AuditEvent.objects.filter(action__in=SYNC_ACTIONS).values_list("action", "object_type", "object_id")
    )
    assert sync_events
    assert max(sync_events.values()) == 1  # no (action, object) twice
    by_action = Counter(action for action, _, _ in sync_events)
    assert by_action == {
        "registered_model.created": MODELS,
        "model_version.created": versions,
        "deployment.observed": aliases + 1,
        "registered_model.linked": 1,
    }
    # Governance's reaction, once: the linked model's champion serves production without a sign-off, and
    # each unlinked model serving production is an unowned model in production.
    [finding] = Finding.objects.filter(kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL)
    assert AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).count() == 1
    unowned = Finding.objects.filter(kind=FindingKind.UNOWNED_PRODUCTION_MODEL)
    assert unowned.count() == len({subject for subject in unowned.values_list("subject_id", flat=True)})
    opened = AuditEvent.objects.filter(action="finding.opened", object_id__in=[str(f.pk) for f in unowned])
    assert opened.count() == unowned.count()
    assert AuditEvent.objects.count() == audit_before + sum(by_action.values()) + 1 + unowned.count()
    assert RegisteredModel.objects.get(name="model-00").project == project
    assert verify_chain().ok

    # 4. It equals an undisturbed sync: a sync of the same registry again changes nothing and writes
    # no audit event, and a fresh registry synced from the same server without interruption ends
    # up with the same rows.
    disturbed = normalized(registry)
    audit_count = AuditEvent.objects.count()
    again = registry_sync_service.registry_sync(registry=registry)
    assert (again.status, again.created, again.updated, again.deleted, again.unchanged) == (
        SyncStatus.SUCCEEDED, 0, 0, 0, versions,
    )  # fmt: skip
    assert (again.deployments_started, again.deployments_ended) == (0, 0)
    assert AuditEvent.objects.count() == audit_count
    assert normalized(registry) == disturbed

    reference = registry_services.registry_create(
        by=None, name="mlflow-undisturbed", kind=RegistryKind.MLFLOW, base_url=mlflow_server.url
    )
    registry_sync_service.registry_sync(registry=reference)
    assert normalized(reference) == disturbed
    assert verify_chain().ok
