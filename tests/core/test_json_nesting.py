"""A JSON body nested past the bound (core.json_limits.MAX_DEPTH) is a 400 naming the limit, and changes nothing.

Before the bounded parser, 50,000 levels of "[" raised RecursionError inside DRF's JSON parser: a 500 on
every JSON endpoint but the lineage ingest, which had its own check.
"""

from __future__ import annotations

import json

import pytest

from core import json_limits
from core.json_limits import MAX_DEPTH, JSONTooDeep
from governance.models import AuditEvent, Classification, Dataset, LineageEvent, Mitigation, Risk
from governance.signoff import tokens
from projects.models import AIProject, FxRate, ROIEntry

TOO_DEEP = f"Malformed request body: the JSON is nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})"
JSON_ENDPOINTS = [
    "/api/v1/projects/", "/api/v1/risks/", "/api/v1/mitigations/", "/api/v1/roi-entries/",
    "/api/v1/roi-entries/bulk/", "/api/v1/fx-rates/", "/api/v1/classifications/", "/api/v1/evidence/",
]  # fmt: skip


def db_state() -> dict[str, int]:
    models = (AIProject, Risk, Mitigation, ROIEntry, FxRate, Classification, Dataset, LineageEvent, AuditEvent)
    return {model.__name__: model.objects.count() for model in models}


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def admin_client(client, admin_user, project):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_a_body_nested_50000_deep_is_a_400_naming_the_limit(admin_client, url):
    before = db_state()
    response = admin_client.post(url, nested(50_000), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": TOO_DEEP, "code": "parse_error"}
    assert db_state() == before


@pytest.mark.parametrize("url", ["/api/v1/projects/", "/api/v1/roi-entries/bulk/"])
def test_a_body_one_level_past_the_bound_is_refused_and_one_at_the_bound_is_parsed(admin_client, url):
    """65 levels (a field holding 64 nested arrays) is refused as too deep; 64 reaches the serializer,
    which refuses it for what it is (not a name), so the bound is exactly MAX_DEPTH."""
    before = db_state()
    too_deep = admin_client.post(url, '{"name": ' + nested(MAX_DEPTH) + "}", content_type="application/json")
    assert too_deep.status_code == 400
    assert too_deep.json()["detail"] == TOO_DEEP
    at_bound = admin_client.post(url, '{"name": ' + nested(MAX_DEPTH - 1) + "}", content_type="application/json")
    assert at_bound.status_code == 400
    assert at_bound.json()["code"] != "parse_error"
    assert db_state() == before


def test_the_lineage_ingest_refuses_the_same_body_with_its_own_400(admin_client):
    before = db_state()
    response = admin_client.post("/api/v1/lineage", nested(50_000), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["reasons"] == [f"the body is nested more than {MAX_DEPTH} levels deep"]
    assert db_state() == before


def test_loads_refuses_deep_documents_without_recursing():
    assert json_limits.loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    for levels in (MAX_DEPTH + 1, 900, 50_000):
        with pytest.raises(JSONTooDeep, match=f"more than {MAX_DEPTH} levels deep"):
            json_limits.loads(nested(levels))


def test_a_gate_token_with_a_deeply_nested_header_is_a_token_error_not_a_crash():
    header = tokens.b64url(nested(50_000).encode())
    with pytest.raises(tokens.TokenError, match=f"more than {MAX_DEPTH} levels deep"):
        tokens.verify(f"{header}.e30.AAAA")


def _walked_depth(document) -> int:
    """The nesting depth by walking the parsed document (what text_depth must agree with)."""
    level = [document] if isinstance(document, dict | list) else []
    depth = 0
    while level:
        depth += 1
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v) if isinstance(c, dict | list)]
    return depth


# Strings that try to fool a reading of brackets off the text: brackets, quotes and backslashes inside
# strings, escaped and not, in keys and values, with and without non-ASCII text around them.
TRICKY = ['a"b', "x\\", '\\"[{', "}]\\\\", '\\\\"', "é[", "\u2028", '\n\t"', "\\u0000", "]]]", '"{"', '\\\\\\"']


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_text_depth_reads_the_depth_of_any_document_whatever_its_strings_hold(ensure_ascii):
    import random

    rng = random.Random(5)

    def build(depth=0):
        roll = rng.random()
        if depth > 7 or roll < 0.3:
            return rng.choice([*TRICKY, 1, 2.5, None, True, "plain"])
        if roll < 0.65:
            return [build(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(TRICKY) + str(i): build(depth + 1) for i in range(rng.randint(0, 4))}

    for _ in range(3000):
        document = build()
        text = json.dumps(document, ensure_ascii=ensure_ascii)
        assert json_limits.text_depth(text) == _walked_depth(document), text
