"""Single sign-on against a real OpenID Connect provider process (tests/oidc_provider.py): the first
sign-in creates the user with the roles and team leadership the provider's groups give; the next sign-in
takes away what the provider took away, each change audited; PKCE is required by the provider; sign-out
ends the provider's session; local passwords can be turned off; django-axes keeps working beside it.

Keel's side runs in the Django test client; every call Keel makes to the provider (discovery, token, JWKS,
userinfo) is real HTTP to the provider process. The provider's own pages are driven with `requests`, as
the browser would (tests/e2e/test_browser_oidc_sign_in.py does it in Chromium)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.models import ExternalIdentity
from core.oidc import NOBODY_SIGNS_IN, PROVIDER_UNREACHABLE, SIGN_IN_FAILED, check_sign_in_settings
from core.roles import Role
from governance.models import AuditEvent
from tests.factories import PASSWORD, TeamFactory
from tests.oidc_provider import CLIENT_ID, PROVIDER_NAME, oidc_provider, use_provider  # noqa: F401

pytestmark = pytest.mark.django_db

ROLE_MAP = {"keel-risk": "Risk Officer", "keel-exec": "Executive", "keel-admins": "Admin"}
TEAM_LEAD_MAP = {"fraud-leads": "fraud-detection"}
IP = "192.0.2.44"


@pytest.fixture
def sso(settings, oidc_provider):  # noqa: F811 - the imported fixture
    use_provider(settings, oidc_provider, role_map=ROLE_MAP, team_lead_map=TEAM_LEAD_MAP)
    return oidc_provider


def start(client, next_url: str = "") -> str:
    """Keel's redirect to the provider's authorization endpoint."""
    response = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""), REMOTE_ADDR=IP)
    assert response.status_code == 302
    return response["Location"]


def approve(authorize_url: str, sub: str) -> str:
    """What the person does at the provider: pick their account. Returns Keel's callback path and query."""
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in(client, sub: str, next_url: str = ""):
    return client.get(approve(start(client, next_url), sub), REMOTE_ADDR=IP)


def events(*prefixes: str) -> list[tuple]:
    rows = AuditEvent.objects.order_by("seq").values_list("action", "actor_repr", "object_type", "before", "after")
    return [row for row in rows if row[0].startswith(prefixes)]


def test_the_first_sign_in_creates_the_user_with_the_mapped_roles_and_team_audited(client, sso):
    team = TeamFactory(name="Fraud Detection")
    sso.set_user(
        "sub-ana", preferred_username="ana", email="ana@example.org", given_name="Ana", family_name="Alves",
        groups=["keel-risk", "fraud-leads", "unrelated-group"],
    )  # fmt: skip

    authorize_url = start(client, next_url="/projects/")
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{sso.url}/oauth2/authorize?")
    assert (query["client_id"], query["code_challenge_method"], query["response_type"]) == (
        [CLIENT_ID], ["S256"], ["code"]
    )  # fmt: skip
    response = client.get(approve(authorize_url, "sub-ana"), REMOTE_ADDR=IP)

    assert (response.status_code, response["Location"]) == (302, "/projects/")
    ana = get_user_model().objects.get(username="ana")
    assert (ana.first_name, ana.last_name, ana.email, ana.has_usable_password()) == (
        "Ana", "Alves", "ana@example.org", False
    )  # fmt: skip
    assert list(ExternalIdentity.objects.values_list("user", "issuer", "subject")) == [(ana.pk, sso.url, "sub-ana")]
    assert sorted(ana.groups.values_list("name", flat=True)) == [Role.RISK_OFFICER, Role.TEAM_LEAD]
    team.refresh_from_db()
    assert team.lead == ana
    assert client.get("/projects/").status_code == 200
    assert events("user.", "team.updated") == [
        ("user.created", "system", "auth.user", None, {"username": "ana", "issuer": sso.url, "subject": "sub-ana"}),
        ("user.role_granted", "system", "auth.user", None, {"role": Role.RISK_OFFICER}),
        ("user.role_granted", "system", "auth.user", None, {"role": Role.TEAM_LEAD}),
        ("team.updated", "system", "projects.team", {"lead": None}, {"lead": ana.pk}),
        ("user.signed_in", "ana", "auth.user", None, {"address": IP, "method": "oidc"}),
    ]
    call_command("verify_audit")


def test_the_next_sign_in_takes_away_what_the_provider_took_away_audited(client, sso):
    team = TeamFactory(name="Fraud Detection")
    sso.set_user("sub-ben", preferred_username="ben", groups=["keel-exec", "keel-risk", "fraud-leads"])
    sign_in(client, "sub-ben")
    client.post("/logout/", REMOTE_ADDR=IP)
    first = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()

    sso.set_user("sub-ben", preferred_username="ben", given_name="Ben", groups=["keel-exec"])
    response = sign_in(client, "sub-ben")

    assert (response.status_code, response["Location"]) == (302, "/")
    ben = get_user_model().objects.get(username="ben")
    assert list(ben.groups.values_list("name", flat=True)) == [Role.EXECUTIVE]
    assert ben.first_name == "Ben"
    team.refresh_from_db()
    assert team.lead is None
    later = [row for row in events("user.", "team.") if row[0] != "user.signed_out"][-4:]
    assert later == [
        ("user.role_revoked", "system", "auth.user", {"role": Role.RISK_OFFICER}, None),
        ("user.role_revoked", "system", "auth.user", {"role": Role.TEAM_LEAD}, None),
        ("team.updated", "system", "projects.team", {"lead": ben.pk}, {"lead": None}),
        ("user.signed_in", "ben", "auth.user", None, {"address": IP, "method": "oidc"}),
    ]
    assert AuditEvent.objects.filter(seq__gt=first, action="user.created").count() == 0  # the same account
    assert ExternalIdentity.objects.filter(user=ben).count() == 1


def test_a_provider_user_whose_name_is_taken_gets_a_new_account_not_the_local_one(client, sso, team_lead):
    sso.set_user("sub-lead", preferred_username="lead", email=team_lead.email or "lead@example.org", groups=[])

    sign_in(client, "sub-lead")

    newcomer = ExternalIdentity.objects.get(subject="sub-lead").user
    assert newcomer.username == "lead-2"
    assert newcomer.pk != team_lead.pk
    assert list(newcomer.groups.all()) == []


def test_the_provider_refuses_a_code_with_the_wrong_pkce_verifier_and_nothing_is_created(client, sso):
    sso.set_user("sub-eve", preferred_username="eve", groups=["keel-admins"])
    authorize_url = start(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    session = client.session
    session["oidc_states"][state]["code_verifier"] = "x" * 64  # not the one the challenge was made from
    session.save()

    response = client.get(approve(authorize_url, "sub-eve"), REMOTE_ADDR=IP, follow=True)

    assert response.redirect_chain[-1] == ("/login/", 302)
    assert SIGN_IN_FAILED.format(provider=PROVIDER_NAME) in response.content.decode()
    assert not get_user_model().objects.filter(username="eve").exists()
    assert events("user.") == [("user.sign_in_failed", "anonymous", "auth.user", None,
                                {"username": None, "method": "oidc", "address": IP})]  # fmt: skip


def test_an_account_deactivated_in_keel_stays_shut_whatever_the_provider_says(client, sso):
    sso.set_user("sub-gil", preferred_username="gil", groups=["keel-exec"])
    sign_in(client, "sub-gil")
    client.post("/logout/", REMOTE_ADDR=IP)
    gil = get_user_model().objects.get(username="gil")
    gil.is_active = False
    gil.save()

    response = sign_in(client, "sub-gil")

    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302
    assert events("user.sign_in_failed") == [
        ("user.sign_in_failed", "anonymous", "auth.user", None, {"username": "gil", "method": "oidc", "address": IP})
    ]
    assert AuditEvent.objects.get(action="user.sign_in_failed").object_id == str(gil.pk)


def test_sign_out_ends_the_provider_session_and_comes_back_to_sign_in(client, sso):
    sso.set_user("sub-cy", preferred_username="cy", groups=["keel-exec"])
    sign_in(client, "sub-cy")

    response = client.post("/logout/", REMOTE_ADDR=IP)

    end_session = urlsplit(response["Location"])
    params = parse_qs(end_session.query)
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == f"{sso.url}/oauth2/end_session"
    assert params["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert params["client_id"] == [CLIENT_ID]
    assert params["id_token_hint"][0].count(".") == 2  # the ID token Keel was given
    # The provider asks the person to confirm, then sends them back to Keel's sign-in page.
    page = requests.get(response["Location"], timeout=10)
    assert page.status_code == 200
    confirm = requests.post(
        f"{sso.url}/oauth2/end_session/confirm",
        data={"redirect_uri": params["post_logout_redirect_uri"][0]},
        allow_redirects=False,
        timeout=10,
    )
    assert confirm.headers["Location"] == "http://testserver/login/"
    assert client.get("/").status_code == 302  # signed out of Keel
    assert [row[0] for row in events("user.signed")] == ["user.signed_in", "user.signed_out"]


def test_a_password_user_signs_out_without_visiting_the_provider(client, sso, team_lead):
    assert client.post("/login/", {"username": "lead", "password": PASSWORD}).status_code == 302
    assert client.post("/logout/")["Location"] == "/login/"


def test_with_local_passwords_off_only_the_provider_signs_people_in(client, settings, oidc_provider, team_lead):  # noqa: F811
    client.force_login(team_lead, backend="django.contrib.auth.backends.ModelBackend")  # opened with a password
    use_provider(settings, oidc_provider, role_map=ROLE_MAP, local_passwords=False)
    assert client.get("/").status_code == 302  # that session ended with the password backend
    oidc_provider.set_user("sub-di", preferred_username="di", groups=["keel-risk"])

    page = client.get("/login/").content.decode()
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'name="password"' not in page
    assert client.post("/login/", {"username": "lead", "password": PASSWORD}, REMOTE_ADDR=IP).status_code == 200
    assert client.get("/").status_code == 302  # the password did not sign anyone in

    assert sign_in(client, "sub-di").status_code == 302
    assert client.get("/").status_code == 200


def test_failed_callbacks_do_not_lock_an_address_out_of_single_sign_on_and_axes_still_guards_passwords(
    client, sso, team_lead
):
    sso.set_user("sub-fay", preferred_username="fay", groups=["keel-exec"])
    for _ in range(6):  # more than KEEL_LOGIN_FAILURE_LIMIT (5): a replayed, refused code each time
        authorize_url = start(client)
        callback = approve(authorize_url, "sub-fay")
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        session = client.session
        session["oidc_states"][state]["code_verifier"] = "y" * 64
        session.save()
        assert client.get(callback, REMOTE_ADDR=IP)["Location"] == "/login/"

    assert sign_in(client, "sub-fay")["Location"] == "/"
    client.post("/logout/", REMOTE_ADDR=IP)
    for _ in range(5):
        client.post("/login/", {"username": "lead", "password": "wrong"}, REMOTE_ADDR=IP)
    locked = client.post("/login/", {"username": "lead", "password": PASSWORD}, REMOTE_ADDR=IP)
    assert locked.status_code == 429  # the password lockout is untouched
    assert [row[4]["username"] for row in events("user.locked_out")] == ["lead", "lead"]  # the 5th try, and this one


def test_an_unreachable_provider_sends_the_person_back_with_a_message(client, settings, oidc_provider):  # noqa: F811
    use_provider(settings, oidc_provider)
    settings.KEEL_OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing answers
    settings.OIDC_TIMEOUT = 2

    response = client.get("/oidc/authenticate/", follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert PROVIDER_UNREACHABLE.format(provider=PROVIDER_NAME) in response.content.decode()


def test_single_sign_on_is_off_by_default(client):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page


def test_a_role_map_naming_no_keel_role_stops_the_server_starting(settings):
    settings.KEEL_OIDC_ROLE_MAP = {"keel-risk": "Risk Officer", "keel-typo": "Risk Oficer"}
    assert [(e.id, e.msg) for e in check_sign_in_settings(None)] == [
        ("keel.E003", "KEEL_OIDC_ROLE_MAP maps the group 'keel-typo' to 'Risk Oficer', which is not a Keel role.")
    ]


def test_local_passwords_cannot_be_turned_off_without_a_provider(settings):
    settings.KEEL_LOCAL_PASSWORDS = False
    assert [(e.id, e.msg) for e in check_sign_in_settings(None)] == [("keel.E004", NOBODY_SIGNS_IN)]
