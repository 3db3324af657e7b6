def test_healthz_reports_each_part_and_503_without_worker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert set(body) == {"status", "database", "broker", "worker", "beat"}
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "error": "no worker heartbeat recorded yet"}
