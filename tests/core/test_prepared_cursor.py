"""core.queries.prepared_cursor: the statements every request runs bind on the server on PostgreSQL and are
prepared once per connection (config/settings.py's prepare_threshold), with the same answers as Django's
own cursor; where queries are logged, and on SQLite, it is Django's own cursor."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.authentication import token_with_user
from core.queries import prepared_cursor
from core.roles import Role
from core.services import api_token_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {statement for (statement,) in cursor.fetchall()}


@pytest.mark.postgres_only
def test_a_statement_run_again_and_again_is_prepared_once_and_answers_alike():
    user = make_user("prepared-lead", Role.TEAM_LEAD)
    token, _ = api_token_create(user=user, name="prepared", days=None)
    answers = [token_with_user(token.prefix) for _ in range(8)]
    assert {a.pk for a in answers} == {token.pk}
    assert all(a.user.pk == user.pk for a in answers)
    assert any("core_apitoken" in statement for statement in _prepared_statements())
    assert token_with_user("no-such-prefix") is None


@pytest.mark.postgres_only
def test_where_queries_are_logged_it_is_djangos_own_cursor_and_the_log_has_the_sql():
    with CaptureQueriesContext(connection) as captured, prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    assert "41" in captured.captured_queries[-1]["sql"]


def test_it_reads_and_writes_as_any_cursor():
    with prepared_cursor() as cursor:
        for n in range(7):  # past the threshold: prepared from the fifth run on PostgreSQL
            cursor.execute("SELECT %s || 'x'", [f"v{n}"])
            assert cursor.fetchone() == (f"v{n}x",)


@pytest.mark.parametrize(
    ("query", "threshold"), [("", 5), ("?prepare_threshold=2", 2), ("?prepare_threshold=off", None)]
)
def test_database_url_sets_or_turns_off_the_threshold(query, threshold, tmp_path):
    """What config/settings.py makes of DATABASE_URL (read in a fresh process: settings load once)."""
    env = os.environ | {"DATABASE_URL": f"postgres://keel@127.0.0.1:5432/keel{query}", "KEEL_VAR_DIR": str(tmp_path)}
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold')))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == threshold
