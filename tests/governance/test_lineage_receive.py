"""What POST /api/v1/lineage accepts and refuses before anything is stored (#13 parts 4 and 5): its
own, larger body limit (gzip included, zip bombs refused), bulky Spark facets stored cut down while
every lineage facet is kept whole, NUL / non-UUID runIds / lone surrogates / absurd nesting refused
with a 400 naming each place (never a 500), an event with 5,000 outputs accepted, 405 with
`Allow: POST` for any other method whoever asks, and the trailing-slash path. Real events:
tests/fixtures/openlineage/spark_cll/ (OpenLineage compatibility tests, SOURCES.txt)."""

from __future__ import annotations

import copy
import gzip
import json

import pytest

from core.roles import Role
from core.services import api_token_create
from governance.lineage.limits import BULKY_FACETS, MAX_DEPTH, structure_problems, trim_bulky_facets
from governance.lineage.scopes import check_event_namespaces
from governance.lineage.validation import LineageEventInvalid, parse_body, validate_event
from governance.models import AuditEvent, Dataset, LineageEvent
from tests.factories import make_user
from tests.lineage_events import FIXTURES, PG, URL, event, post

pytestmark = pytest.mark.django_db

LINEAGE_FACETS = ("dataSource", "schema", "columnLineage")
SPARK_OUTPUT = "/tmp/cll_test/tbl1"  # noqa: S108 - the output table's name in the real Spark event
NUL_FIELD_SCHEMA = {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "em\u0000ail", "type": "text"}]}


def spark_event(name: str = "8.json") -> dict:
    return json.loads((FIXTURES / "spark_cll" / name).read_text())


def big_spark_event(copies: int = 120) -> dict:
    """The real Spark CTAS COMPLETE with its logical plan repeated: ~1.55 MB, the shape of a large job."""
    body = spark_event()
    facet = body["run"]["facets"]["spark.logicalPlan"]
    facet["plan"] = [copy.deepcopy(node) for _ in range(copies) for node in facet["plan"]]
    return body


@pytest.fixture
def pipeline(client):
    """A pipeline's machine user posting with its token, scoped to the namespaces these events write."""
    machine = make_user("etl-bot", Role.TEAM_LEAD)
    _, key = api_token_create(user=machine, lineage_namespaces=["etl", "testColumnLevelLineage", "file", PG])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


# --- part 4: large events ---------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_1_55_mb_spark_event_is_accepted_its_plan_cut_down_and_its_lineage_facets_kept_whole(pipeline, gzipped):
    body = big_spark_event()
    raw = json.dumps(body).encode()
    assert 1_500_000 < len(raw) < 1_600_000

    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if gzipped else {}
    response = post(pipeline, gzip.compress(raw) if gzipped else raw, **headers)

    assert response.status_code == 201, response.content[:500]
    warnings = response.json()["warnings"]
    assert any(w.startswith("run.facets.spark.logicalPlan is 1,") and "cut down" in w for w in warnings), warnings
    stored = LineageEvent.objects.get().payload
    plan = stored["run"]["facets"]["spark.logicalPlan"]
    assert plan["_keelTrimmed"]["bytes"] > 1_400_000
    assert 0 < plan["_keelTrimmed"]["kept"] <= 65_536
    assert plan["plan"] == body["run"]["facets"]["spark.logicalPlan"]["plan"][: len(plan["plan"])]
    assert plan["_producer"] == body["run"]["facets"]["spark.logicalPlan"]["_producer"]
    for key in LINEAGE_FACETS:
        assert stored["outputs"][0]["facets"][key] == body["outputs"][0]["facets"][key]
    assert stored["run"]["facets"]["spark_properties"] == body["run"]["facets"]["spark_properties"]
    output = Dataset.objects.get(namespace="file", name=SPARK_OUTPUT)
    assert sorted(output.fields.values_list("name", flat=True)) == ["agg", "ident", "trans"]


def test_a_resent_big_event_is_a_duplicate_and_one_differing_only_in_the_cut_part_is_not(pipeline):
    body = big_spark_event()
    first = post(pipeline, body)
    assert first.status_code == 201

    again = post(pipeline, body)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["event_hash"] == first.json()["event_hash"]

    body["run"]["facets"]["spark.logicalPlan"]["plan"][-1]["num-children"] = 7  # far past what is kept
    other = post(pipeline, body)
    assert other.status_code == 201
    assert other.json()["event_hash"] != first.json()["event_hash"]


def test_bulky_facets_of_a_real_spark_start_are_cut_past_the_cap_and_nothing_else(pipeline, settings):
    settings.KEEL_LINEAGE_FACET_MAX_BYTES = 1_000
    body = spark_event("2.json")
    assert {"spark_unknown", "spark.logicalPlan"} <= body["run"]["facets"].keys()

    response = post(pipeline, body)

    assert response.status_code == 201, response.content
    facets = LineageEvent.objects.get().payload["run"]["facets"]
    for key in ("spark_unknown", "spark.logicalPlan"):
        assert facets[key]["_keelTrimmed"]["kept"] <= 1_000
        assert sum(key in w for w in response.json()["warnings"]) == 1
    for key in body["run"]["facets"].keys() - BULKY_FACETS:
        assert facets[key] == body["run"]["facets"][key]


def test_lineage_facets_are_never_cut_whatever_their_size(pipeline, settings):
    settings.KEEL_LINEAGE_FACET_MAX_BYTES = 1_000
    body = spark_event()
    column_lineage = body["outputs"][0]["facets"]["columnLineage"]
    assert len(json.dumps(column_lineage)) > 1_000

    assert post(pipeline, body).status_code == 201

    assert LineageEvent.objects.get().payload["outputs"][0]["facets"]["columnLineage"] == column_lineage


def test_a_long_stack_trace_keeps_its_message_and_the_start_of_the_trace():
    facet = {"_producer": "p", "_schemaURL": "s", "message": "boom", "programmingLanguage": "JAVA",
             "stackTrace": "at org.apache.spark.Foo(Foo.scala:1)\n" * 5_000}  # fmt: skip
    body = event(run={"runId": "0196a1f0-0000-7000-8000-00000000000a", "facets": {"errorMessage": facet}})

    cut, warnings = trim_bulky_facets(body, 2_000)

    kept = cut["run"]["facets"]["errorMessage"]
    assert (kept["message"], kept["programmingLanguage"]) == ("boom", "JAVA")
    assert kept["stackTrace"]
    assert facet["stackTrace"].startswith(kept["stackTrace"])
    assert len(json.dumps(kept).encode()) <= 2_000
    assert body["run"]["facets"]["errorMessage"] is facet  # the event given is not changed
    assert len(warnings) == 1


def test_the_lineage_limit_is_its_own_and_other_endpoints_keep_the_api_limit(pipeline, admin_user, client, settings):
    big = json.dumps(big_spark_event()).encode()
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert post(pipeline, big).status_code == 201

    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(admin_user)
    elsewhere = client.post("/api/v1/teams/", data=big, content_type="application/json")
    assert elsewhere.status_code == 400
    assert elsewhere.json()["code"] == "request_too_large"
    assert f"the limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes" in elsewhere.json()["detail"]


def test_a_body_past_the_lineage_limit_is_refused_before_it_is_read(pipeline, settings):
    settings.KEEL_LINEAGE_MAX_BODY_BYTES = 100_000
    response = post(pipeline, big_spark_event(copies=10))
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert "the limit is 100000 bytes" in response.json()["detail"]
    assert not LineageEvent.objects.exists()


def test_a_zip_bomb_is_refused_as_too_large_without_being_inflated(pipeline, settings):
    inflated = b'{"eventType": "COMPLETE"' + b" " * (settings.KEEL_LINEAGE_MAX_BODY_BYTES + 1_000_000) + b"}"
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 100_000

    response = post(pipeline, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert f"the limit is {settings.KEEL_LINEAGE_MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert not LineageEvent.objects.exists()


def test_a_gzip_header_on_a_body_that_is_not_gzip_is_a_clear_400(pipeline):
    response = post(pipeline, json.dumps(event()), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert "the gzip body cannot be read" in response.json()["detail"]


# --- part 5: refused clearly, never a 500 -----------------------------------------------------------


def nested(depth: int) -> str:
    """JSON text of objects nested `depth` deep (written out: json.dumps itself would give up)."""
    return '{"child": ' * (depth - 1) + '{"leaf": true}' + "}" * (depth - 1)


def with_run_facet(text: str) -> str:
    """An event whose run carries one facet given as JSON text."""
    body = event(run={"runId": "0196a1f0-0000-7000-8000-00000000000a", "facets": {"deep": "@facet@"}})
    return json.dumps(body).replace('"@facet@"', text)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            event(job={"namespace": "etl", "name": "daily\u0000"}), "job.name holds a NUL character", id="NUL job"
        ),
        pytest.param(
            event(outputs=[{"namespace": "post\u0000gres://x", "name": "t"}]),
            "outputs[0].namespace holds a NUL character",
            id="NUL dataset namespace",
        ),
        pytest.param(
            event(outputs=[{"namespace": PG, "name": "t", "facets": {"schema": NUL_FIELD_SCHEMA}}]),
            "outputs[0].facets.schema.fields[0].name holds a NUL character",
            id="NUL field",
        ),
        pytest.param(
            event(run={"runId": "run_id"}),
            "run.runId 'run_id' is not a UUID (the spec's format, e.g. 0196a1f0-3c2e-7d4a-9b1f-2f5e8c7a6b10)",
            id="runId not a UUID",
        ),
        pytest.param(
            event(run={"runId": "0196a1f00000700080000000000000aa"}), "is not a UUID", id="runId without hyphens"
        ),
        pytest.param(
            json.dumps(event()).replace("mart.customers", "mart.\\ud800customers"),
            "outputs[0].name holds a lone UTF-16 surrogate",
            id="lone surrogate",
        ),
        pytest.param(
            with_run_facet(nested(990)),
            f"is nested more than {MAX_DEPTH} levels deep",
            id="facet nested 990 deep",
        ),
        pytest.param('{"a": ' * 200_000 + "1" + "}" * 200_000, "nested more than 64", id="nested 200,000 deep"),
        # Both overflowed converting to UTC on save (a 500); an eventTime outside core.dates' window is refused.
        pytest.param(
            event(eventTime="9999-12-31T23:59:59-05:00"),
            "9999-12-31 is outside the dates Keel accepts",
            id="eventTime 9999 behind UTC",
        ),
        pytest.param(
            event(eventTime="0001-01-01T00:00:00+05:00"),
            "0001-01-01 is outside the dates Keel accepts",
            id="eventTime 0001 ahead of UTC",
        ),
    ],
)
def test_what_cannot_be_stored_is_refused_with_a_400_naming_where(pipeline, body, reason):
    audit_before = AuditEvent.objects.count()

    response = post(pipeline, body)

    assert response.status_code == 400, response.content[:300]
    assert any(reason in r for r in response.json()["reasons"]), response.json()
    assert not LineageEvent.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_nesting_up_to_the_bound_is_accepted(pipeline):
    deepest = with_run_facet(nested(MAX_DEPTH - 3))  # the event, its run and the facets map sit above it
    assert post(pipeline, deepest).status_code == 201, post(pipeline, deepest).content
    too_deep = with_run_facet(nested(MAX_DEPTH - 2)).replace("00000000000a", "00000000000b")
    assert post(pipeline, too_deep).status_code == 400


def test_every_problem_is_listed_at_once(pipeline):
    body = event(job={"namespace": "etl", "name": "a\u0000"}, outputs=[{"namespace": PG, "name": "b\u0000"}])
    reasons = post(pipeline, body).json()["reasons"]
    assert reasons == ["job.name holds a NUL character (\\u0000)", "outputs[0].name holds a NUL character (\\u0000)"]


def test_an_event_with_5000_outputs_passes_every_receive_check():
    """Many outputs are no reason to refuse: only the body limit bounds an event's size. (Writing them
    in chunks, within the databases' parameter limits, is the writer's part: test_lineage_queue.)"""
    outputs = [{"namespace": PG, "name": f"lake.part_{i:04d}"} for i in range(5_000)]
    raw = json.dumps(event(outputs=outputs)).encode()
    token = api_token_create(user=make_user("wide-bot", Role.TEAM_LEAD), lineage_namespaces=["etl", PG])[0]

    payload = parse_body(raw)
    check_event_namespaces(payload, token=token)
    validated = validate_event(payload)

    assert len(validated.payload["outputs"]) == 5_000


# --- methods and paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("who", ["anonymous", "reader", "team lead", "token"])
def test_any_other_method_is_405_with_allow_post_whoever_asks(client, method, who, executive, team_lead):
    if who == "token":
        _, key = api_token_create(user=team_lead, lineage_namespaces=["etl"])
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    elif who != "anonymous":
        client.force_login(executive if who == "reader" else team_lead)

    response = getattr(client, method)(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


def test_an_anonymous_post_still_asks_to_authenticate(client):
    response = post(client, event())
    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"] or "Token" in response["WWW-Authenticate"]


def test_the_path_with_a_trailing_slash_is_the_same_endpoint(pipeline):
    response = pipeline.post(URL + "/", data=json.dumps(event()), content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    assert response.json()["status"] == "accepted"
    assert pipeline.get(URL + "/").status_code == 405


def test_an_event_built_in_code_with_nul_in_a_name_is_refused_too():
    """lineage_event_ingest(payload=...) (the demo seed, commands) skips parse_body: validation checks names."""
    with pytest.raises(LineageEventInvalid, match=r"job.name holds a NUL character"):
        validate_event(event(job={"namespace": "etl", "name": "daily\u0000"}))


def test_the_structure_check_passes_every_real_event_and_names_a_bad_key():
    for path in FIXTURES.rglob("*.json"):
        assert structure_problems(json.loads(path.read_text())) == [], path
    body = event(run={"runId": "0196a1f0-0000-7000-8000-00000000000a", "facets": {"bad\u0000key": {}}})
    assert structure_problems(body) == ["a key at run.facets holds a NUL character (\\u0000)"]
    assert structure_problems({"a": [[[[1]]]]}) == []
    assert structure_problems({"a": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}) == [
        "a" + "[0]" * (MAX_DEPTH - 1) + f" is nested more than {MAX_DEPTH} levels deep"
    ]


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_post_waits_for_the_appliers_write_lock_in_short_steps_and_is_stored(monkeypatch):
    """On SQLite the applier's batch holds the one write lock; the POST's INSERT asks again every
    millisecond (not in SQLite's own naps of up to 100 ms) and is stored once the lock is free."""
    import sqlite3

    from django.db import connection

    from governance.lineage import receive as receiving

    poster = make_user("etl-bot-lock", Role.TEAM_LEAD)
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # what an applier's batch transaction takes
    naps: list[float] = []
    real_sleep = receiving.time.sleep

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 50:  # the batch ends: its transaction commits and the lock is free
            holder.execute("COMMIT")
        real_sleep(seconds)

    monkeypatch.setattr(receiving.time, "sleep", nap)
    try:
        result = receiving.receive(payload=event(), by=poster)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
    assert result.status == "accepted"
    assert LineageEvent.objects.filter(pk=result.event.pk).exists()
    assert len(naps) >= 50
    assert set(naps) == {receiving.LOCK_POLL_SECONDS}
    # The connection's own busy timeout is back for every other statement.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == int(connection.settings_dict["OPTIONS"]["timeout"] * 1000)
