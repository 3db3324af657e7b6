"""Real Celery processes for integration tests.

`celery_procs` starts `celery -A config worker` / `celery -A config beat` as subprocesses that use the
test database (built from the test process's own connection) and the same broker as the test process:
Redis when REDIS_URL is set, else kombu's filesystem transport in a folder under tmp_path, so parallel
test runs never consume each other's messages. Each process runs in its own session and is killed with
its whole process group at teardown; its output goes to a log file under tmp_path that is attached to
the report of a failing test.

Tests using these fixtures must be `@pytest.mark.django_db(transaction=True)`: the processes only see
committed rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from core.models import Heartbeat
from tests.conftest import need_service

READY_TIMEOUT = 60  # seconds a worker or beat may take to start and record its first heartbeat


def _celery_executable() -> str:
    beside_python = Path(sys.executable).with_name("celery")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("celery")
    if not found:
        pytest.fail("the celery command was not found next to the interpreter or on PATH", pytrace=False)
    return found


def test_database_url() -> str:
    """A DATABASE_URL that points another process at the database this test process is using."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail(f"the SQLite test database {name!r} is not a file another process can open", pytrace=False)
        return f"sqlite:///{Path(name).resolve()}"
    if connection.vendor == "postgresql":
        user = quote(s.get("USER") or "", safe="")
        password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgres://{auth}{s.get('HOST') or ''}{port}/{quote(s['NAME'], safe='')}"
    pytest.fail(f"no DATABASE_URL recipe for the {connection.vendor} backend", pytrace=False)


test_database_url.__test__ = False  # a helper, not a test


@dataclass
class CeleryProcess:
    name: str
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"

    def kill(self) -> None:
        """SIGKILL the process and everything it started (pool children share its process group).

        No warm shutdown: it takes seconds on the filesystem transport, and nothing a test left behind
        survives anyway (fresh broker folder; Redis queue and unacked set are emptied before each test).
        """
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # only if SIGKILL could not be delivered
            self.proc.wait(timeout=10)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # start_new_session=True: the group id is the leader's pid


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, watch: tuple[CeleryProcess, ...] = ()) -> Any:
    """Poll predicate until it returns something truthy; fail after timeout or when a watched process dies."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        for p in watch:
            if not p.alive():
                pytest.fail(f"{p.name} exited with code {p.proc.returncode} while waiting for {what}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.25)


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


def _reset_broker_pools(app) -> None:
    """Drop the app's cached broker connections so the next publish uses the current transport options."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def celery_broker(tmp_path) -> Iterator[dict[str, str]]:
    """Points this test process and the child processes at one broker; yields the children's env additions.

    With REDIS_URL the broker is Redis (the children inherit REDIS_URL), emptied of leftover messages
    first; without it, a fresh filesystem-transport folder under tmp_path replaces var/broker for both.
    """
    from config.celery import app

    var_dir = tmp_path / "var"
    env = {"KEEL_VAR_DIR": str(var_dir)}
    if settings.REDIS_URL:
        need_service(_redis_reachable(settings.REDIS_URL), f"Redis at {settings.REDIS_URL}")
        import redis

        # Tasks a killed worker had taken stay in kombu's unacked set and would come back later.
        redis.Redis.from_url(settings.REDIS_URL).delete("unacked", "unacked_index", "unacked_mutex")
        app.control.purge()
        yield env
        return

    folders = {sub: var_dir / "broker" / sub for sub in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = {
        **saved,
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }
    _reset_broker_pools(app)
    try:
        yield env
    finally:
        app.conf.broker_transport_options = saved
        _reset_broker_pools(app)


@dataclass
class CeleryLauncher:
    """Starts worker/beat subprocesses for one test; `celery_procs` stops them all at teardown."""

    tmp_path: Path
    base_env: dict[str, str]
    started: list[CeleryProcess] = field(default_factory=list)

    def _start(self, name: str, args: list[str], env: dict[str, str] | None) -> CeleryProcess:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [_celery_executable(), "-A", "config", *args],
                cwd=self.tmp_path,
                env={**self.base_env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = CeleryProcess(name=name, proc=proc, log_path=log_path)
        self.started.append(process)
        return process

    def _wait_heartbeat(self, process: CeleryProcess, kind: str) -> None:
        # The worker_ready / beat_init signal handlers record a heartbeat naming this process's pid.
        wait_for(
            lambda: Heartbeat.objects.filter(name=kind, detail__endswith=f":{process.pid}").exists(),
            timeout=READY_TIMEOUT,
            what=f"the {process.name} to start and record its {kind} heartbeat",
            watch=(process,),
        )

    def worker(self, *, pool: str = "solo", env: dict[str, str] | None = None) -> CeleryProcess:
        n = sum(p.name.startswith("worker") for p in self.started) + 1
        process = self._start(
            f"worker{n}-{pool}",
            ["worker", "--pool", pool, "-c", "1", "--without-mingle", "--without-gossip", "-l", "info",
             "-n", f"keel-test-{uuid.uuid4().hex[:8]}@%h"],
            env,
        )  # fmt: skip
        self._wait_heartbeat(process, Heartbeat.WORKER)
        return process

    def beat(self, *, env: dict[str, str] | None = None) -> CeleryProcess:
        process = self._start("beat", ["beat", "-l", "info"], env)
        self._wait_heartbeat(process, Heartbeat.BEAT)
        return process


@pytest.fixture
def celery_procs(request, transactional_db, celery_broker, tmp_path) -> Iterator[CeleryLauncher]:
    """Start real Celery processes against the test database; all are stopped before the database is flushed."""
    env = {
        **os.environ,
        **celery_broker,
        "DATABASE_URL": test_database_url(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    launcher = CeleryLauncher(tmp_path=tmp_path, base_env=env)
    request.node._celery_processes = launcher.started
    try:
        yield launcher
    finally:
        for process in reversed(launcher.started):
            process.kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the Celery processes' logs to the report of a failing test (setup, call or teardown)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for process in getattr(item, "_celery_processes", ()):
            report.sections.append((f"{process.name} log ({process.log_path})", process.read_log()))


@pytest.fixture(scope="session")
def mlflow_server_session(tmp_path_factory):
    """One real MLflow server per test session (it takes ~10 s to start), on a free loopback port."""
    from tests.integration.registry_servers import MlflowServer, require_mlflow

    require_mlflow()
    server = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    yield server
    server.stop()


@pytest.fixture
def mlflow_server(mlflow_server_session):
    """The session's MLflow server, emptied of registered models before each test."""
    from tests.integration.registry_servers import mlflow_client

    client = mlflow_client(mlflow_server_session.url)
    for model in client.search_registered_models(max_results=1000):
        client.delete_registered_model(model.name)
    return mlflow_server_session


@pytest.fixture(scope="session")
def moto_server_session(tmp_path_factory):
    """One real moto server (SageMaker and the rest of AWS, in memory) per test session, on a free loopback port."""
    from tests.integration.registry_servers import MotoServer

    try:
        import moto.server  # noqa: F401
    except ImportError:
        need_service(False, "the moto[server] package (pip install -e '.[dev]')")
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def moto_server(moto_server_session):
    """The session's moto server, wiped of all state before each test."""
    moto_server_session.reset()
    return moto_server_session
