"""Sign-ins, failed sign-ins, lockouts and sign-outs are in the audit trail with the client's address; the
password never is, nor the text typed for an account that does not exist; the chain still verifies."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from governance.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def events(prefix: str = "user.") -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action__startswith=prefix)
        .order_by("seq")
        .values_list("action", "actor_repr", "object_id", "after")
    )


def post_login(client: Client, username: str, password: str, ip: str = "192.0.2.10"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_a_sign_in_and_a_sign_out_are_audited_with_the_address(client, team_lead):
    assert post_login(client, "lead", PASSWORD).status_code == 302
    assert client.post("/logout/", REMOTE_ADDR="192.0.2.10").status_code == 302

    lead = str(team_lead.pk)
    assert events() == [
        ("user.signed_in", "lead", lead, {"address": "192.0.2.10"}),
        ("user.signed_out", "lead", lead, {"address": "192.0.2.10"}),
    ]
    call_command("verify_audit")


def test_a_failed_sign_in_names_the_account_and_address_but_never_the_password(client, team_lead):
    assert post_login(client, "lead", "hunter2-wrong").status_code == 200

    assert events() == [
        ("user.sign_in_failed", "anonymous", str(team_lead.pk), {"username": "lead", "address": "192.0.2.10"}),
    ]
    assert "hunter2-wrong" not in json.dumps(list(AuditEvent.objects.values("before", "after")))


def test_a_failed_sign_in_for_no_such_account_keeps_a_fingerprint_not_the_text(client, team_lead):
    post_login(client, "MySecretPassw0rd!", "whatever")
    post_login(client, "MySecretPassw0rd!", "whatever")
    post_login(client, "someone-else", "whatever")

    rows = events()
    assert [(a, actor, oid, after["username"], after["address"]) for a, actor, oid, after in rows] == [
        ("user.sign_in_failed", "anonymous", "", None, "192.0.2.10"),
    ] * 3
    fingerprints = [after["unknown_username"] for *_, after in rows]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]  # the same text, the same fingerprint
    assert len(fingerprints[0]) == 16
    assert "MySecretPassw0rd" not in json.dumps(list(AuditEvent.objects.values("object_id", "before", "after")))


def test_the_fifth_failure_is_audited_as_a_lockout(client, team_lead):
    for _ in range(5):
        post_login(client, "lead", "wrong-password")

    actions = sorted(row[0] for row in events())
    assert actions == ["user.locked_out"] + ["user.sign_in_failed"] * 5
    locked = AuditEvent.objects.get(action="user.locked_out")
    assert (locked.object_id, locked.after) == (str(team_lead.pk), {"username": "lead", "address": "192.0.2.10"})
    assert AuditEvent.objects.filter(action="user.signed_in").count() == 0
    call_command("verify_audit")


def test_behind_a_proxy_the_audited_address_is_the_client_from_x_forwarded_for(client, settings, team_lead):
    settings.KEEL_BEHIND_PROXY = True
    response = client.post(
        "/login/",
        {"username": "lead", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.5"},
    )
    assert response.status_code == 302
    assert events() == [("user.signed_in", "lead", str(team_lead.pk), {"address": "203.0.113.5"})]


def test_the_test_clients_force_login_checks_no_credentials_and_is_not_a_sign_in(client, team_lead):
    client.force_login(team_lead)
    client.logout()
    assert events() == []
