"""What every `make bench` script shares: Django set up on a throwaway database under var/bench.

Import it before anything from Django or Keel: importing it configures the environment (everything
the settings create goes under var/bench, never var/) and calls django.setup().
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))
os.environ["KEEL_VAR_DIR"] = str(BENCH_DIR)
os.environ.setdefault("KEEL_EMBEDDED", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Pages render {% static %} without a collectstatic run, as in the tests (the manifest is a deploy step).
os.environ.setdefault("KEEL_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402


class BudgetExceeded(Exception):
    """A benchmark ran past its time budget (SIGALRM)."""


def on_alarm(signum, frame):
    raise BudgetExceeded("the benchmark ran past its time budget")


def setup_database(label: str) -> tuple[str, str]:
    """Create the throwaway database `<configured>_bench_<label>` (or var/bench/<label>.sqlite3) and
    point the connection at it. Returns (vendor, name). Never the configured database itself."""
    db = settings.DATABASES["default"]
    test = db.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(BENCH_DIR / f"{label}.sqlite3")
    else:
        test["NAME"] = f"{db['NAME']}_bench_{label}"
    if test["NAME"] == db["NAME"]:
        raise SystemExit("refusing to benchmark in the configured database itself")
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection.vendor, name


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank p-th percentile (p in 0–100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(values: list[float]) -> float:
    """The median, NaN for no values (a section that did not run)."""
    return statistics.median(values) if values else float("nan")


class QueryCounter:
    """Counts the queries run inside `connection.execute_wrapper(counter)` (a connection wrapper survives
    a request's connection handling, which a captured query log does not outside a test transaction)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def start_budget(seconds: int) -> float:
    """Create var/bench and arm the time budget: past it, SIGALRM raises BudgetExceeded wherever the run
    is, so a stuck benchmark ends instead of holding the machine. Returns the start time."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    return time.perf_counter()


def stop_budget() -> None:
    signal.alarm(0)


def machine_facts() -> dict:
    """What a reader needs to compare two reports: CPUs, Python and the platform."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_report(report: dict, output: Path) -> None:
    """The report as indented JSON (dates and paths as text), its folder created first."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")


def publish(report: dict, output: Path, print_table: Callable[[dict], None]) -> None:
    """Write the JSON report, then print the script's table of it and where the JSON went."""
    write_report(report, output)
    print_table(report)
    print(f"\nJSON: {output}")


def drop_database(name: str | None = None) -> None:
    """Drop the throwaway database (the one the connection points at when no name is given). Best
    effort: a failure here must not hide the benchmark's own result or error."""
    with contextlib.suppress(Exception):
        connection.creation.destroy_test_db(name or settings.DATABASES["default"]["NAME"], verbosity=0)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it), for a server a benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_group(cmd: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start cmd from the repository root in its own process group (so stop_group reaches every child
    it forks: gunicorn's worker, Celery's pool), its output appended to log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments, no shell
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(proc: subprocess.Popen, timeout: float = 20, sig: int = signal.SIGTERM) -> None:
    """Signal the process group of a start_group() process (SIGTERM unless told), SIGKILL whatever is
    left after timeout, and reap it: a benchmark never leaves a server behind, even when it fails or runs
    out of time."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, so a finished group is really gone
        if not _group_alive(proc.pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def group_cpu_seconds(pgid: int | None) -> float:
    """CPU seconds (utime + stime, and those of reaped children) of every process in a process group, from
    /proc: what a server started with start_group has used so far, however many processes it forked."""
    if pgid is None:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # after the command: state, ppid, pgrp, …, utime, stime, cutime, cstime
            total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> dict[str, float]:
    """PostgreSQL: CPU seconds so far of the server processes serving the connected database, this
    process's own connection excepted (it only watches): the part of an event's cost that no Keel process
    shows, since the server does it. {} on SQLite, whose work is inside Keel's processes. A backend that
    exits between two readings takes its CPU with it (the servers keep their connections: CONN_MAX_AGE)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile, or a server on another machine: nothing to read
            continue
        total += int(fields[11]) + int(fields[12])
    return {"database": total / os.sysconf("SC_CLK_TCK")}


def log_tail(log: Path, lines: int = 30) -> str:
    """The last lines of a server's log, for an error message that says why it did not start."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def run(main: Callable[[], int]) -> None:
    """The `__main__` block: exit with main()'s status, or 2 with one line when the budget ran out."""
    try:
        sys.exit(main())
    except BudgetExceeded as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
