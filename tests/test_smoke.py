def test_healthz_reports_each_part_and_503_without_worker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "worker", "beat"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
