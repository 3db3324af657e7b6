"""The moving parts of scripts/bench_lineage_e2e.py: Keel served as in production (gunicorn with one web
worker, one Celery worker process) on a throwaway database, and a pool of HTTP clients posting to it.

Import benchkit before this module (it sets Django up on var/bench).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import benchkit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from core.models import Heartbeat
from core.roles import Role
from core.services import api_token_create

START_TIMEOUT = 90  # seconds for gunicorn to answer and the Celery worker to record its start-up heartbeat
PROGRESS_EVERY = 30  # seconds between two progress lines of a long round
REQUEST_TIMEOUT = 300  # one POST may wait behind 7 others on the one sync worker; never forever
# A token without OpenLineage namespace scopes may post nowhere; the benchmark's producer may post anywhere.
BROAD_SCOPE = ["*"]


# --- the producer's credentials -----------------------------------------------------------------


def producer_token() -> str:
    """A machine user holding the Team Lead role (who posts lineage in production) and an API token
    for it, scoped to every namespace. Returns the key."""
    user = get_user_model().objects.create_user("bench-e2e-producer")
    user.groups.add(Group.objects.get_or_create(name=Role.TEAM_LEAD)[0])
    _, key = api_token_create(user=user, name="bench_lineage_e2e", days=None, lineage_namespaces=BROAD_SCOPE)
    return key


# --- the servers ----------------------------------------------------------------------------------


def child_database_url(vendor: str) -> str:
    """DATABASE_URL for the servers: the throwaway database this process just created (the connection
    points at it), written the way the configured URL was (options kept) for PostgreSQL."""
    name = settings.DATABASES["default"]["NAME"]
    if vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(str(name))))


@dataclass
class Keel:
    """gunicorn (one worker) and a Celery worker (one process) on the throwaway database; `with` starts
    both and waits until both are up, and always stops both process groups on the way out."""

    vendor: str
    var_dir: Path
    worker_class: str = "sync"
    threads: int = 1
    redis_url: str = ""
    # False: gunicorn alone (a read-only benchmark has no task to run and should not share the CPUs).
    worker: bool = True
    port: int = 0
    procs: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        child = dict(os.environ)
        child.pop("REDIS_URL", None)
        child |= {
            "KEEL_EMBEDDED": "true",
            "DJANGO_DEBUG": "false",
            "KEEL_VAR_DIR": str(self.var_dir),  # its own filesystem broker, logs, static
            "DATABASE_URL": child_database_url(self.vendor),
            "PYTHONUNBUFFERED": "1",
        }
        if self.redis_url:
            child["REDIS_URL"] = self.redis_url
        return child

    def describe(self) -> dict:
        return {
            "web": f"gunicorn {version('gunicorn')}, 1 worker ({self.worker_class}, {self.threads} thread(s))",
            "celery": f"celery {version('celery')} worker, prefork pool, concurrency 1 (one task process), no beat"
            if self.worker
            else "none",
            "broker": self.redis_url or "filesystem (kombu, under the run's KEEL_VAR_DIR)",
            # The lineage settings the servers ran with (e.g. whether the request applies inline).
            "lineage_settings": {k: v for k, v in os.environ.items() if k.startswith("KEEL_LINEAGE_")},
        }

    def __enter__(self) -> Keel:
        shutil.rmtree(self.var_dir, ignore_errors=True)
        self.var_dir.mkdir(parents=True)
        self.port = benchkit.free_port()
        env, py = self.env(), sys.executable
        Heartbeat.objects.all().delete()  # the worker's start-up heartbeat is the sign it is up
        try:
            self.procs["web"] = benchkit.start_group(
                [py, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--worker-class", self.worker_class, "--threads", str(self.threads),
                 "--timeout", str(REQUEST_TIMEOUT),
                 "--no-control-socket", "--log-level", "warning"],
                env=env, log=self.var_dir / "log" / "web.log",
            )  # fmt: skip
            if self.worker:
                self.procs["worker"] = benchkit.start_group(
                    [py, "-m", "celery", "-A", "config", "worker", "-l", "info", "--pool", "prefork",
                     "--concurrency", "1", "--without-mingle", "--without-gossip", "--without-heartbeat",
                     "--purge", "-n", f"bench-e2e-{os.getpid()}@%h"],
                    env=env, log=self.var_dir / "log" / "worker.log",
                )  # fmt: skip
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        web_up, worker_up = False, not self.worker
        while not (web_up and worker_up):
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"the {name} process exited ({proc.returncode}):\n{self.tail(name)}")
            if time.monotonic() > deadline:
                down = [n for n, up in (("web", web_up), ("worker", worker_up)) if not up]
                raise RuntimeError(f"{', '.join(down)} not up after {START_TIMEOUT} s:\n{self.tail(down[0])}")
            web_up = web_up or _answers(self.port)
            worker_up = worker_up or Heartbeat.objects.filter(name=Heartbeat.WORKER).exists()
            time.sleep(0.2)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each server's process group has used so far, children included:
        unlike a rate, it does not depend on what else the machine is doing."""
        return {name: benchkit.group_cpu_seconds(proc.pid) for name, proc in self.procs.items()}

    def tail(self, name: str) -> str:
        return benchkit.log_tail(self.var_dir / "log" / f"{name}.log")

    def stop(self) -> None:
        for name, proc in self.procs.items():
            if name == "worker":
                # Celery's shutdown takes ~5 s on the filesystem broker, warm or cold; by now the worker's
                # work is done (or abandoned with the throwaway database): cold, then SIGKILL after 1 s.
                benchkit.stop_group(proc, timeout=1, sig=signal.SIGQUIT)
            else:
                benchkit.stop_group(proc)
        connection.close()

    def __exit__(self, *exc) -> None:
        self.stop()


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")  # any answer (503 without beat) means gunicorn serves Keel
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


# --- the clients ------------------------------------------------------------------------------------


@dataclass
class Posted:
    """What a round of POSTs gave: per-request latencies, the first start and last end (perf_counter),
    answers by status, the first unexpected answers, and whether the budget cut the round short."""

    latencies: list[float] = field(default_factory=list)
    first_start: float | None = None
    last_end: float | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    not_yet_applied: int = 0
    cut_short: bool = False

    @property
    def count(self) -> int:
        return len(self.latencies)

    def add(self, start: float, end: float, status: int, body: bytes, expect: int) -> None:
        self.latencies.append(end - start)
        self.first_start = start if self.first_start is None else min(self.first_start, start)
        self.last_end = end if self.last_end is None else max(self.last_end, end)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != expect and len(self.unexpected) < 5:
            self.unexpected.append(f"{status}: {body[:300].decode(errors='replace')}")
        # Store-and-acknowledge ingest answers "applied": false; the in-request apply answers without it.
        if status == 201 and b'"applied":false' in body.replace(b" ", b""):
            self.not_yet_applied += 1


class Clients:
    """N concurrent HTTP/1.1 clients (threads, one kept-alive connection each, reopened when the server
    closes it: gunicorn's sync worker closes it after every answer) posting JSON bodies with
    `Authorization: Bearer <key>`, in bursts taken from one shared queue.

    They share the machine's CPUs with the servers they measure, so they are lean (LeanConnection): each
    request is written as prepared bytes, and an answer is read by its status line, Content-Length and
    body (the CPU they use is reported beside the servers' own)."""

    def __init__(self, url: str, key: str, *, clients: int, burst: int, pause: float):
        self.host, self.port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        self.head = (
            f"POST /api/v1/lineage HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.clients, self.burst, self.pause = clients, burst, pause

    def post(self, bodies: list[bytes], *, expect: int, stop_at: float) -> Posted:
        """POST every body to /api/v1/lineage (unless the time runs past stop_at, a perf_counter time)."""
        bursts: queue.SimpleQueue = queue.SimpleQueue()
        for i in range(0, len(bodies), self.burst):
            bursts.put(bodies[i : i + self.burst])
        posted, lock = Posted(), threading.Lock()
        threads = [
            threading.Thread(target=self._client, args=(bursts, posted, lock, expect, stop_at), daemon=True)
            for _ in range(self.clients)
        ]
        for t in threads:
            t.start()
        last = time.monotonic()
        while any(t.is_alive() for t in threads):
            time.sleep(0.05)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                print(f"    {posted.count} of {len(bodies)} posted", flush=True)
        return posted

    def _client(self, bursts, posted: Posted, lock: threading.Lock, expect: int, stop_at: float) -> None:
        conn = LeanConnection(self.host, self.port)
        try:
            while True:
                try:
                    burst = bursts.get_nowait()
                except queue.Empty:
                    return
                for body in burst:
                    if time.perf_counter() >= stop_at:
                        posted.cut_short = True
                        return
                    start = time.perf_counter()
                    status, answer = conn.post(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
                    end = time.perf_counter()
                    with lock:
                        posted.add(start, end, status, answer, expect)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            conn.close()


class LeanConnection:
    """One client's connection: send a prepared HTTP/1.1 request, read its answer (status, body)."""

    def __init__(self, host: str, port: int):
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def post(self, request: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.address, timeout=REQUEST_TIMEOUT)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock.sendall(request)
                return self._answer()
            except (ConnectionError, EOFError) as exc:
                # A kept-alive connection the server closed meanwhile: reconnect once. Resending is safe,
                # the event is content-addressed (a second copy answers 200 duplicate).
                self.close()
                if attempt == 2:
                    return 0, f"connection failed: {exc!r}".encode()
        raise AssertionError("unreachable")

    def _read(self, n: int | None = None) -> bytes:
        """Up to what is buffered plus one read; EOFError when the server closed before anything came."""
        chunk = self.sock.recv(max(65536, n or 0))
        if not chunk:
            raise EOFError("the server closed the connection")
        return chunk

    def _answer(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if b"content-length" not in headers:
            raise ConnectionError(f"an answer without Content-Length: {head[:200]!r}")
        length = int(headers[b"content-length"])
        while len(rest) < length:
            rest += self._read(length - len(rest))
        body, self.buffer = rest[:length], rest[length:]
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, body


def as_bodies(events: list[dict]) -> list[bytes]:
    """Encode before the clock starts, so the clients spend their time on HTTP, not on JSON."""
    return [json.dumps(e, separators=(",", ":")).encode() for e in events]
