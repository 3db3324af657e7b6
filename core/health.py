"""The state of each moving part, for /healthz and the status page; and readiness, for /readyz."""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Heartbeat


def check_database() -> dict:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "transport": str(transport)}


def check_heartbeat(name: str) -> dict:
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return {"ok": False, "error": f"no {name} heartbeat recorded yet"}
    age = (timezone.now() - beat.at).total_seconds()
    ok = age <= settings.KEEL_HEARTBEAT_STALE_SECONDS
    out = {"ok": ok, "last_seen": beat.at.isoformat(), "age_seconds": round(age, 1), "where": beat.detail}
    if not ok:
        out["error"] = f"last {name} heartbeat {round(age)} s ago (limit {settings.KEEL_HEARTBEAT_STALE_SECONDS} s)"
    return out


def system_health() -> dict:
    checks = {"database": check_database(), "broker": check_broker()}
    if checks["database"]["ok"]:
        checks["worker"] = check_heartbeat(Heartbeat.WORKER)
        checks["beat"] = check_heartbeat(Heartbeat.BEAT)
    else:
        checks["worker"] = checks["beat"] = {"ok": False, "error": "database unavailable"}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "unavailable", **checks}


# Once a process has seen every migration applied it stays so (migrations are not unapplied under a
# running server), so the migration graph is read until then, not on every probe.
_migrated = False


def check_migrations() -> dict:
    global _migrated
    if _migrated:
        return {"ok": True}
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if pending:
        return {"ok": False, "error": f"{len(pending)} migrations not applied yet"}
    _migrated = True
    return {"ok": True}


def readiness() -> dict:
    """Can this web process serve requests: its database answers and holds this code's schema.

    Unlike system_health, workers, beat and the broker are left out: a load balancer that took every
    web server out of rotation because beat stopped would turn a late schedule into an outage.
    """
    checks = {"database": check_database()}
    down = {"ok": False, "error": "database unavailable"}
    checks["migrations"] = check_migrations() if checks["database"]["ok"] else down
    return {"status": "ready" if all(c["ok"] for c in checks.values()) else "unavailable", **checks}
