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
import statistics
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


def run(main: Callable[[], int]) -> None:
    """The `__main__` block: exit with main()'s status, or 2 with one line when the budget ran out."""
    try:
        sys.exit(main())
    except BudgetExceeded as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
