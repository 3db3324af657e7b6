"""What each database engine needs beyond DATABASE_URL (config/settings.py applies it to DATABASES["default"])."""

from __future__ import annotations

from pathlib import Path


def tune(db: dict) -> dict:
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat share one file: IMMEDIATE transactions take the write lock at BEGIN
        # (no read-then-upgrade deadlock, and audit appends are serialised), WAL lets readers go on
        # while one process writes, and the busy timeout makes writers wait instead of failing.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests use a file, not :memory:, so that a real Celery worker process can see the test data.
        db_file = Path(db["NAME"])
        db["TEST"] = {"NAME": str(db_file.with_name(f"test-{db_file.stem}.sqlite3"))}
    elif db["ENGINE"] == "django.db.backends.postgresql":
        # Django binds on the client, so every statement is parsed and planned anew; the few statements run
        # on every request (an API token's read, a lineage POST's insert: core.queries.prepared_cursor) bind
        # on the server and psycopg prepares each from its fifth run on a connection. Django's own cursors
        # never prepare, whatever this says. A pooler that cannot keep prepared statements (PgBouncer in
        # transaction mode before 1.21) needs `?prepare_threshold=off` in DATABASE_URL.
        options = db.setdefault("OPTIONS", {})
        threshold = str(options.get("prepare_threshold", 5)).strip().lower()
        options["prepare_threshold"] = None if threshold in ("off", "none") else int(threshold)
    return db
