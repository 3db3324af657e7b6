"""pytest plugin (`-p config.testenv` in pyproject.toml) that runs before Django settings load.

Tests run in the embedded mode unless the caller says otherwise, so a bare `pytest` works the same
as `make test`; CI sets DATABASE_URL/REDIS_URL/CI itself.

Under pytest-xdist (`make test` runs `-n 2`) every worker process gets its own state, so that two
workers never share anything but the servers: pytest-django already gives each its own test database
(`test_keel_gw0`, …); here each also gets its own var folder (SQLite file, evidence, keys, the
filesystem broker) and its own Redis database (the URL's index + the worker's number), because a
Celery worker started by one test would otherwise take the tasks another worker's test published.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("KEEL_EMBEDDED", "true")
# Static files are served by finders in tests; the manifest storage needs collectstatic first.
os.environ.setdefault("KEEL_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")


def _redis_url_for_worker(url: str, number: int) -> str:
    """The same server, database index shifted by the worker's number (redis://h:p/1 → /2 for gw1)."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + number}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # set by xdist before a worker loads its plugins
if _worker.startswith("gw"):
    _number = int(_worker[2:])
    _var = Path(os.environ.get("KEEL_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    os.environ["KEEL_VAR_DIR"] = str(_var / f"xdist-{_worker}")
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _redis_url_for_worker(os.environ["REDIS_URL"], _number)
