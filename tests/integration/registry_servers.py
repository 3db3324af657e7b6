"""Real registry servers for integration tests: MLflow and moto (SageMaker), on 127.0.0.1.

Each runs in its own process group, so teardown can stop the server and every child it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import requests

from tests.conftest import need_service

if TYPE_CHECKING:
    from mlflow import MlflowClient

MLFLOW_START_TIMEOUT = 90
BIN = Path(sys.executable).parent


def require_mlflow() -> ModuleType:
    """The mlflow package, imported only when a test needs it.

    mlflow is an optional (dev) dependency: imported at a module's top, its absence would abort the
    collection of the whole suite; here it fails the one test in CI and skips it locally, with the reason.
    """
    try:
        import mlflow
    except ImportError:
        need_service(False, "the mlflow package (pip install -e '.[dev]')")
    return mlflow


def mlflow_client(url: str) -> MlflowClient:
    """An MLflow client for the server at url (see require_mlflow)."""
    return require_mlflow().MlflowClient(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the server's whole process group, SIGKILL whatever is left after timeout, and wait for all of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, so a finished group is really gone
        if not _group_alive(proc.pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)


class MlflowServer:
    """`mlflow server` on sqlite, lean: one worker, background job execution off.

    With `admin_password`, it runs MLflow's basic-auth app (`--app-name basic-auth`, needs the
    `mlflow[auth]` extra): its user store lives in the workdir, the admin is `admin`, and `auth`
    holds the admin's credentials for requests.
    """

    ADMIN = "admin"

    def __init__(self, workdir: Path, port: int | None = None, *, admin_password: str | None = None):
        if admin_password is not None and len(admin_password) < 12:
            raise ValueError("MLflow refuses admin passwords shorter than 12 characters")
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "mlflow-server.log"
        self.admin_password = admin_password
        self.proc: subprocess.Popen | None = None

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.ADMIN, self.admin_password) if self.admin_password else None

    def _auth_env(self) -> dict[str, str]:
        if not self.admin_password:
            return {}
        import mlflow.server.auth

        packaged = Path(mlflow.server.auth.__file__).with_name("basic_auth.ini").read_text()
        lines = [
            f"database_uri = sqlite:///{self.workdir / 'basic_auth.db'}" if line.startswith("database_uri") else line
            for line in packaged.splitlines()
        ]
        config = self.workdir / "basic_auth.ini"
        config.write_text("\n".join(lines) + "\n")
        return {
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "keel-tests-not-a-secret",
        }

    def start(self) -> MlflowServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **self._auth_env()}
        cmd = [
            str(BIN / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--artifacts-destination", str(self.workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            *(["--app-name", "basic-auth"] if self.admin_password else []),
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + MLFLOW_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited early:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                # /health skips MLflow's host check, so probe a real API route too.
                r = requests.get(f"{self.url}/api/2.0/mlflow/registered-models/search", auth=self.auth, timeout=2)
                if r.status_code == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"mlflow server not ready after {MLFLOW_START_TIMEOUT}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def create_user(self, username: str, password: str) -> None:
        """A non-admin user of the basic-auth app (it reads everything: default_permission = READ)."""
        r = requests.post(
            f"{self.url}/api/2.0/mlflow/users/create",
            json={"username": username, "password": password},
            auth=self.auth,
            timeout=30,
        )
        r.raise_for_status()


class MotoServer:
    """`moto_server`: SageMaker (and the rest of AWS) in memory, one process.

    By default moto accepts any credentials. With `authenticate_after=N` it lets the first N AWS
    calls through (to create an IAM user, its policy and access key) and then checks every call's
    credentials and IAM permissions, as AWS does.
    """

    def __init__(self, workdir: Path, port: int | None = None, *, authenticate_after: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.authenticate_after = authenticate_after
        self.proc: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "moto.log").open("ab")
        env = dict(os.environ)
        if self.authenticate_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.authenticate_after)
        self.proc = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.post(f"{self.url}/moto-api/reset", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto server did not start")

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
