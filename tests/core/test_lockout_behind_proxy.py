"""Behind a proxy every request comes from the proxy's address: the lockout reads the client's address from
X-Forwarded-For (KEEL_BEHIND_PROXY, KEEL_PROXY_TRUSTED_HOPS) and locks one username at one address, so one
user's wrong passwords lock neither the others nor that user elsewhere; without the setting the header is
ignored, so a client cannot dodge a lock by sending one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client

from core.client_address import client_address
from governance.models import AuditEvent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.1"  # REMOTE_ADDR of every request that came through the proxy


@pytest.fixture
def behind_proxy(settings):
    settings.KEEL_BEHIND_PROXY = True
    settings.KEEL_PROXY_TRUSTED_HOPS = 1
    return settings


@pytest.fixture
def people(db):
    return make_user("alice"), make_user("bob")


def sign_in(username: str, password: str, *, forwarded: str | None, client: Client | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    client = client or Client()
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=PROXY, headers=headers)


def fail_five_times(username: str, forwarded: str | None) -> None:
    for _ in range(5):
        assert sign_in(username, "wrong-password", forwarded=forwarded).status_code in (200, 429)


def test_behind_a_proxy_five_failures_lock_only_that_user_at_that_address(behind_proxy, people):
    fail_five_times("alice", "203.0.113.5")

    assert sign_in("alice", PASSWORD, forwarded="203.0.113.5").status_code == 429
    assert sign_in("bob", PASSWORD, forwarded="203.0.113.5").status_code == 302  # same address, other user
    assert sign_in("bob", PASSWORD, forwarded="198.51.100.7").status_code == 302
    assert sign_in("alice", PASSWORD, forwarded="198.51.100.7").status_code == 302  # alice, elsewhere


def test_behind_a_proxy_a_client_cannot_dodge_the_lock_with_its_own_forwarded_entries(behind_proxy, people):
    """The proxy appends the address it saw; whatever the client wrote to the left of it is ignored."""
    for n in range(5):
        sign_in("alice", "wrong-password", forwarded=f"192.0.2.{n}, 203.0.113.5")

    assert sign_in("alice", PASSWORD, forwarded="192.0.2.77, 203.0.113.5").status_code == 429
    failed = AuditEvent.objects.filter(action="user.sign_in_failed").values_list("after__address", flat=True)
    assert set(failed) == {"203.0.113.5"}


def test_with_two_trusted_hops_the_client_is_second_from_the_right(behind_proxy, people):
    behind_proxy.KEEL_PROXY_TRUSTED_HOPS = 2
    fail_five_times("alice", "192.0.2.1, 203.0.113.5, 10.0.0.2")

    assert sign_in("alice", PASSWORD, forwarded="198.51.100.1, 203.0.113.5, 10.0.0.2").status_code == 429
    assert sign_in("alice", PASSWORD, forwarded="203.0.113.6, 10.0.0.2").status_code == 302


def test_without_the_setting_x_forwarded_for_is_ignored_and_cannot_be_spoofed(settings, people):
    assert settings.KEEL_BEHIND_PROXY is False
    for n in range(5):
        sign_in("alice", "wrong-password", forwarded=f"203.0.113.{n}")  # a new "address" each time

    assert sign_in("alice", PASSWORD, forwarded="198.51.100.7").status_code == 429  # still REMOTE_ADDR's lock
    assert sign_in("bob", PASSWORD, forwarded=None).status_code == 302
    failed = AuditEvent.objects.filter(action="user.sign_in_failed").values_list("after__address", flat=True)
    assert set(failed) == {PROXY}


@pytest.mark.parametrize(
    ("behind", "hops", "forwarded", "expected"),
    [
        (False, 1, "203.0.113.5", PROXY),
        (True, 1, "203.0.113.5", "203.0.113.5"),
        (True, 1, "192.0.2.1, 203.0.113.5", "203.0.113.5"),
        (True, 2, "192.0.2.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (True, 3, "203.0.113.5, 10.0.0.2", PROXY),  # fewer entries than trusted hops: not via the proxies
        (True, 1, "", PROXY),
        (True, 1, "192.0.2.1, not-an-address", PROXY),
        (True, 1, " 2001:db8::1 ", "2001:db8::1"),
        (True, 0, "203.0.113.5", PROXY),
    ],
)
def test_client_address(settings, behind, hops, forwarded, expected):
    settings.KEEL_BEHIND_PROXY, settings.KEEL_PROXY_TRUSTED_HOPS = behind, hops
    request = SimpleNamespace(META={"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded})
    assert client_address(request) == expected
