"""The lean path of POST /api/v1/lineage for API tokens (governance/api/lineage_fast.py) answers exactly what
LineageView answers — status, body and headers — for each outcome, and leaves every request it is not sure
of to the normal stack (sessions, failed tokens, roles that may not post, non-JSON Accept)."""

from __future__ import annotations

import gzip
import json
from unittest import mock

import pytest
from django.conf import settings

from core.roles import Role
from core.services import api_token_create
from governance.api import lineage_fast
from governance.lineage import queue
from governance.models import AuditEvent, LineageEvent
from tests.factories import make_user
from tests.lineage_events import PG, event, post
from tests.query_counts import capture_queries

pytestmark = pytest.mark.django_db

FAST = "governance.api.lineage_fast.LineageIngestMiddleware"


@pytest.fixture
def key():
    _, key = api_token_create(user=make_user("etl-bot", Role.TEAM_LEAD), lineage_namespaces=["etl", PG])
    return key


@pytest.fixture
def queued(settings, monkeypatch):
    """Store and acknowledge (as in production): the answers then depend on nothing the first POST applied."""
    settings.KEEL_LINEAGE_APPLY_INLINE = False
    monkeypatch.setattr(queue, "schedule_apply", lambda: None)


def without_fast_path(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != FAST]


def comparable(response) -> tuple:
    """Status, headers and body of an answer, without what differs from one request to the next."""
    assert int(response["Content-Length"]) == len(response.content)
    # The request id is new per request; the length follows the queue figures (an age in seconds).
    headers = {k: v for k, v in response.items() if k not in ("X-Request-ID", "Content-Length")}
    body = response.json()
    if isinstance(body.get("queue"), dict):
        body["queue"] = sorted(body["queue"])
    return response.status_code, headers, body


CASES = {
    "accepted": lambda: event(),
    "invalid": lambda: event(run={"runId": "not-a-uuid"}),
    "out_of_scope": lambda: event(outputs=[{"namespace": "s3://elsewhere", "name": "x"}]),
    "malformed": lambda: b"{not json",
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_answer_is_the_one_the_drf_view_gives(client, settings, key, queued, case):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    with mock.patch.object(lineage_fast, "ingest", wraps=lineage_fast.ingest) as lean:
        fast = post(client, CASES[case]())
        again = post(client, CASES[case]())  # a duplicate, for the accepted event
    assert lean.call_count == 2  # the lean path answered both
    LineageEvent.objects.all().delete()
    without_fast_path(settings)
    slow = post(client, CASES[case]())
    slow_again = post(client, CASES[case]())
    assert comparable(fast) == comparable(slow)
    assert comparable(again) == comparable(slow_again)
    assert fast["X-Request-ID"]
    assert fast["Content-Security-Policy"]
    assert fast["X-Frame-Options"] == "DENY"


def test_a_gzip_body_past_the_lineage_limit_is_refused_alike(client, settings, key, queued):
    settings.KEEL_LINEAGE_MAX_BODY_BYTES = 2_000
    body = gzip.compress(json.dumps(event(producer="p" * 5_000)).encode())
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    fast = post(client, body, HTTP_CONTENT_ENCODING="gzip")
    without_fast_path(settings)
    slow = post(client, body, HTTP_CONTENT_ENCODING="gzip")
    assert fast.json()["code"] == "request_too_large"
    assert comparable(fast) == comparable(slow)


def test_the_request_id_sent_reaches_the_audit_of_an_event_applied_in_the_request(client, key):
    assert settings.KEEL_LINEAGE_APPLY_INLINE  # the tests' default: the POST applies the event
    response = post(client, event(), HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_REQUEST_ID="req-from-producer-1")
    assert response.status_code == 201
    assert response["X-Request-ID"] == "req-from-producer-1"
    applied = AuditEvent.objects.get(action="lineage.applied")
    assert applied.request_id == "req-from-producer-1"
    assert applied.actor_repr == "etl-bot"


@pytest.mark.parametrize(
    ("who", "headers", "status"),
    [
        ("bad token", {"HTTP_AUTHORIZATION": "Bearer keel_nope_nope"}, 401),
        ("reader", {}, 403),
        ("html wanted", {"HTTP_ACCEPT": "text/html"}, 406),
    ],
)
def test_requests_it_is_not_sure_of_go_to_the_normal_stack(client, key, who, headers, status):
    if who == "reader":
        _, reader = api_token_create(user=make_user("exec", Role.EXECUTIVE), lineage_namespaces=["etl", PG])
        headers = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
    with mock.patch.object(lineage_fast, "ingest") as lean:
        response = post(client, event(), **headers)
    assert response.status_code == status
    assert not lean.called
    assert response["Content-Type"] == "application/json"
    assert not LineageEvent.objects.exists()


def test_a_signed_in_team_lead_posts_through_the_normal_stack(client):
    client.force_login(make_user("lead", Role.TEAM_LEAD))
    with mock.patch.object(lineage_fast, "ingest", wraps=lineage_fast.ingest) as lean:
        response = post(client, event())
    assert response.status_code == 201
    assert not lean.called


def test_a_token_post_runs_a_fixed_handful_of_queries(client, key, queued):
    """Every event a producer posts pays these, so each one is counted: the token with its user and roles
    (one read), the one INSERT (which checks the hash and the runId's owner itself), the model-link check —
    and a duplicate the token, the INSERT that writes nothing and the read of the stored event. A query more
    per POST is a regression of the ingest rate (docs/benchmarks.md)."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    assert post(client, event()).status_code == 201  # the token's last_used_at is written on first use
    second = event(run={"runId": "0196a1f0-0000-7000-8000-000000000002"})
    with capture_queries() as accepted:
        assert post(client, second).status_code == 201
    with capture_queries() as duplicate:
        assert post(client, second).status_code == 200
    # The test's own transaction makes the INSERT take a savepoint; a request has none around it.
    statements = [q for q in accepted.count.sql if not q.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 3, "\n".join(statements)
    dup_statements = [q for q in duplicate.count.sql if not q.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(dup_statements) == 3, "\n".join(dup_statements)
