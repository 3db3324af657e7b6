def test_healthz_reports_each_part_and_503_without_worker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert set(body) == {"status", "database", "broker", "worker", "beat"}
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "error": "no worker heartbeat recorded yet"}


def test_anonymous_probes_see_no_raw_errors_or_process_names(client, db, monkeypatch):
    from core import health, views

    monkeypatch.setattr(health, "check_broker", lambda: {"ok": False, "error": "Error 111 connecting to 10.0.0.5:6379"})
    body = client.get("/healthz").json()
    assert body["broker"] == {"ok": False, "error": views.HIDDEN_ERROR}
    assert "10.0.0.5" not in str(body)


def test_admins_see_the_full_report(client, admin_user, monkeypatch):
    from core import health

    monkeypatch.setattr(health, "check_broker", lambda: {"ok": False, "error": "Error 111 connecting to 10.0.0.5:6379"})
    client.force_login(admin_user)
    assert client.get("/healthz").json()["broker"]["error"] == "Error 111 connecting to 10.0.0.5:6379"
