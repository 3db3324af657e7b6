"""/readyz: can this web process serve (database up, every migration applied)? For load balancers, so it
leaves out workers and beat, which /healthz covers."""

from __future__ import annotations

import pytest
from django.db.migrations.executor import MigrationExecutor

from core import health, views


@pytest.fixture(autouse=True)
def unmemoised(monkeypatch):
    """Each test reads the migration state afresh (a process remembers once it has seen it complete)."""
    monkeypatch.setattr(health, "_migrated", False)


def test_readyz_is_200_with_the_database_up_and_migrated_even_without_worker_or_beat(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": {"ok": True, "vendor": health.connection.vendor},
                               "migrations": {"ok": True}}  # fmt: skip
    assert client.get("/healthz").status_code == 503  # no worker, no beat: not healthy, yet ready
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_503_while_migrations_are_pending_and_names_them_only_to_admins(client, admin_user, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("m", False), ("n", False)])
    anonymous = client.get("/readyz")
    assert anonymous.status_code == 503
    assert anonymous.json()["migrations"] == {"ok": False, "error": views.HIDDEN_ERROR}
    client.force_login(admin_user)
    assert client.get("/readyz").json()["migrations"] == {"ok": False, "error": "2 migrations not applied yet"}


def test_readyz_is_503_when_the_database_is_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_database", lambda: {"ok": False, "error": "could not connect to 10.0.0.5"})
    body = client.get("/readyz").json()
    assert body == {"status": "unavailable", "database": {"ok": False, "error": views.HIDDEN_ERROR},
                    "migrations": {"ok": False, "error": views.HIDDEN_ERROR}}  # fmt: skip


def test_readyz_is_remembered_once_complete(client, db, monkeypatch):
    assert client.get("/readyz").status_code == 200
    monkeypatch.setattr(MigrationExecutor, "__init__", lambda *a, **k: pytest.fail("read the graph again"))
    assert client.get("/readyz").status_code == 200


def test_probes_are_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/readyz").status_code == 200
    assert client.get("/projects/").status_code == 301
