"""API tokens: created by `manage.py create_api_token` (key shown once, only its SHA-256 stored),
used as `Authorization: Token <key>` with the user's role permissions, refused when wrong, revoked,
expired or the user is inactive; creation and revocation are audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

import core.models
from core.models import ApiToken
from governance.models import AuditEvent
from projects.models import AIProject
from tests.factories import make_user

KEY_FORMAT = re.compile(r"^keel_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")


def create_token(username: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", username, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def new_key(username: str, *args: str) -> str:
    return create_token(username, *args)[0].strip()


def token_of(key: str) -> ApiToken:
    return ApiToken.objects.get(prefix=key.split("_")[1])


def api_get(client, path: str, key: str):
    return client.get(path, headers={"Authorization": f"Token {key}"})


# --- creation ------------------------------------------------------------------------------------------


def test_create_api_token_prints_the_key_once_on_stdout_and_the_details_on_stderr(team_lead):
    out, err = create_token("lead", "--name", "ci-pipeline")
    key = out.strip()
    assert out == key + "\n"  # stdout is only the key, so `KEY=$(manage.py create_api_token lead)` works
    assert KEY_FORMAT.match(key)
    token = token_of(key)
    assert (token.user, token.name) == (team_lead, "ci-pipeline")
    assert f"Token {token.prefix} for lead" in err
    assert "shown only once" in err
    assert key not in err
    assert key.split("_", 2)[2] not in err


def test_the_key_is_stored_only_as_its_sha256(team_lead):
    key = new_key("lead")
    secret = key.split("_", 2)[2]
    token = token_of(key)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM core_apitoken")
        columns = [c[0] for c in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1
    assert "key_hash" in columns
    for column, value in zip(columns, rows[0], strict=True):
        assert key not in str(value), column
        assert secret not in str(value), column


def test_the_key_appears_in_no_audit_event(team_lead):
    key = new_key("lead")
    call_command("revoke_api_token", token_of(key).prefix, stdout=io.StringIO())
    secret = key.split("_", 2)[2]
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM governance_auditevent")
        rows = cur.fetchall()
    assert len(rows) == 2
    for row in rows:
        assert all(secret not in str(value) for value in row)


def test_two_tokens_for_one_user_have_different_keys_and_prefixes(team_lead):
    first, second = new_key("lead"), new_key("lead")
    assert first != second
    assert token_of(first).prefix != token_of(second).prefix


def test_a_token_expires_after_90_days_by_default_and_never_with_days_0(team_lead):
    token = token_of(new_key("lead"))
    assert token.expires_at - token.created_at == pytest.approx(dt.timedelta(days=90), abs=dt.timedelta(seconds=5))
    assert token_of(new_key("lead", "--days", "0")).expires_at is None


@pytest.mark.parametrize("days", ["-1", "99999999", "36500"])
def test_a_token_lifetime_past_the_accepted_dates_or_negative_is_a_command_error(team_lead, days):
    """--days 99999999 crashed with an OverflowError computing the expiry; -1 made a token expired at birth."""
    with pytest.raises(CommandError, match="A token lasts a whole number of days from 1 to"):
        create_token("lead", "--days", days)
    assert ApiToken.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_token.created").exists()


def test_create_api_token_for_an_unknown_user_is_a_command_error(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        create_token("ghost")
    assert ApiToken.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_create_api_token_for_an_inactive_user_is_a_command_error(db):
    make_user("gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        create_token("gone")
    assert ApiToken.objects.count() == 0


def test_token_creation_is_audited_without_the_key(team_lead):
    key = new_key("lead", "--name", "ci", "--days", "30")
    token = token_of(key)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == ("api_token.created", "core.apitoken", str(token.pk))
    assert event.actor_repr == "system"  # a management command acts as the system
    assert event.after == {
        "user": team_lead.pk,
        "name": "ci",
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat(),
        "lineage_namespaces": [],  # posts lineage nowhere until an admin scopes it
    }


# --- authentication ------------------------------------------------------------------------------------


def test_a_token_authenticates_and_carries_the_users_role(client, team_lead, project, other_project):
    key = new_key("lead")
    response = api_get(client, "/api/v1/projects/", key)
    assert response.status_code == 200
    # A team lead sees their own team's projects only.
    assert [p["slug"] for p in response.json()["results"]] == [project.slug]
    assert api_get(client, "/api/v1/audit-events/", key).status_code == 403
    assert token_of(key).last_used_at is not None


def test_a_risk_officers_token_reads_the_audit_trail_but_cannot_write_projects(client, risk_officer, team):
    key = new_key("risk")
    assert api_get(client, "/api/v1/audit-events/", key).status_code == 200
    response = client.post(
        "/api/v1/projects/",
        {"name": "X", "purpose": "p", "team": team.slug, "owner": "risk"},
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code == 403


def test_a_token_write_needs_no_csrf_token_and_is_audited_as_the_tokens_user(team_lead, team):
    key = new_key("lead")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/projects/",
        {"name": "Triage bot", "purpose": "Routes claims.", "team": team.slug, "owner": "lead"},
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code == 201, response.content
    assert "sessionid" not in response.cookies  # token calls open no session
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_id, event.actor_repr) == ("project.created", team_lead.pk, "lead")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Token {prefix_ok_wrong_secret}", id="right prefix, wrong secret"),
        pytest.param("Token keel_000000000000_" + "A" * 43, id="unknown prefix"),
        pytest.param("Token not-a-keel-key", id="not a keel key"),
        pytest.param("Token {key} extra", id="malformed header"),
        pytest.param("Token {key_cut}", id="truncated key"),
    ],
)
def test_a_wrong_key_is_refused_with_401(client, team_lead, header):
    key = new_key("lead")
    prefix = key.split("_")[1]
    value = header.format(key=key, key_cut=key[:-1], prefix_ok_wrong_secret=f"keel_{prefix}_" + "B" * 43)
    response = client.get("/api/v1/projects/", headers={"Authorization": value})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_no_credentials_at_all_is_401(client, db):
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_revoked_with_the_command_is_refused_and_the_revocation_audited(client, team_lead):
    key = new_key("lead")
    assert api_get(client, "/api/v1/projects/", key).status_code == 200
    prefix = token_of(key).prefix
    out = io.StringIO()
    call_command("revoke_api_token", prefix, stdout=out)
    assert out.getvalue().strip() == f"Revoked {prefix}."
    assert api_get(client, "/api/v1/projects/", key).status_code == 401
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.object_id, event.actor_repr) == ("api_token.revoked", str(token_of(key).pk), "system")
    assert event.before == {"revoked_at": None}
    assert event.after == {"revoked_at": token_of(key).revoked_at.isoformat()}


def test_revoking_twice_or_an_unknown_prefix_is_a_command_error(team_lead):
    prefix = token_of(new_key("lead")).prefix
    call_command("revoke_api_token", prefix, stdout=io.StringIO())
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_api_token", prefix, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No token with prefix 'ffffffffffff'"):
        call_command("revoke_api_token", "ffffffffffff", stdout=io.StringIO())
    assert AuditEvent.objects.count() == events


def test_a_token_revoked_with_the_admin_action_is_refused_and_audited_with_the_admin_as_actor(client, team_lead):
    key = new_key("lead")
    token = token_of(key)
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_id, event.actor_repr) == ("api_token.revoked", root.pk, "root")
    client.logout()
    assert api_get(client, "/api/v1/projects/", key).status_code == 401


def test_the_admin_cannot_add_or_delete_tokens(client, team_lead):
    token_of(new_key("lead"))
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert client.get("/admin/core/apitoken/add/").status_code == 403
    changelist = client.get("/admin/core/apitoken/")
    assert "delete_selected" not in changelist.content.decode()


def test_an_expired_token_is_refused(client, team_lead):
    key = new_key("lead")
    ApiToken.objects.filter(prefix=token_of(key).prefix).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert api_get(client, "/api/v1/projects/", key).status_code == 401


def test_a_one_day_token_works_today_and_is_refused_two_days_later(client, monkeypatch, team_lead):
    key = new_key("lead", "--days", "1")
    assert api_get(client, "/api/v1/projects/", key).status_code == 200
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(core.models, "timezone", SimpleNamespace(now=lambda: later))
    assert api_get(client, "/api/v1/projects/", key).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(client, team_lead):
    key = new_key("lead")
    assert api_get(client, "/api/v1/projects/", key).status_code == 200
    team_lead.is_active = False
    team_lead.save(update_fields=["is_active"])
    assert api_get(client, "/api/v1/projects/", key).status_code == 401


def test_a_token_cannot_be_used_as_a_session(client, team_lead):
    """The key in a cookie or query string is no credential; only the Authorization header is."""
    key = new_key("lead")
    assert client.get("/api/v1/projects/", {"token": key}).status_code == 401
    assert client.get("/projects/").status_code == 302  # pages redirect to login; tokens are API-only
    assert client.get("/projects/", headers={"Authorization": f"Token {key}"}).status_code == 302


def test_token_users_see_exactly_the_projects_their_role_allows(client, executive, project, other_project):
    key = new_key("exec")
    slugs = sorted(p["slug"] for p in api_get(client, "/api/v1/projects/", key).json()["results"])
    assert slugs == sorted(AIProject.objects.values_list("slug", flat=True))
