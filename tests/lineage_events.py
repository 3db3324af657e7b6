"""What the lineage tests share: the fixture events, a minimal valid RunEvent, and a POST to the ingest endpoint."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openlineage"
URL = "/api/v1/lineage"
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PG = "postgres://localhost:5432"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def event(**overrides) -> dict:
    """A valid COMPLETE RunEvent (job etl/daily reading crm.customers, writing mart.customers), with overrides."""
    base = {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T10:00:00Z",
        "producer": "https://example.org/etl",
        "schemaURL": RUN_EVENT_URL,
        "run": {"runId": "0196a1f0-0000-7000-8000-00000000000a"},
        "job": {"namespace": "etl", "name": "daily"},
        "inputs": [{"namespace": PG, "name": "crm.customers"}],
        "outputs": [{"namespace": PG, "name": "mart.customers"}],
    }
    return {**base, **overrides}


def post(client, body, **extra):
    """POST an event (a dict, or the raw bytes/text of a body) as JSON."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **extra)
