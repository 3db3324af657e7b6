"""What every `make bench` script shares: Django set up on a throwaway database under var/bench.

Import it before anything from Django or Keel: importing it configures the environment (everything
the settings create goes under var/bench, never var/) and calls django.setup().
"""

from __future__ import annotations

import os
import sys
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
