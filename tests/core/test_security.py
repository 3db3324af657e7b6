"""Production hardening: deploy checks, refusing to start without a secret, security headers and
cookies, CSRF, login lockout (django-axes), a warning-free OpenAPI schema and a CDN-free /api/docs/."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys

import axes.handlers.proxy
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.utils import get_random_secret_key
from django.test import Client
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS

from projects.models import AIProject
from tests.commands import MANAGE_PY, manage_py
from tests.factories import PASSWORD

# Variables that would loosen the production defaults; none of them is set in production by default.
LOOSENING_VARS = (
    "KEEL_EMBEDDED",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "KEEL_SECURE_COOKIES",
    "DJANGO_SECURE_HSTS_SECONDS",
    "DJANGO_SECURE_HSTS_PRELOAD",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_ALLOWED_HOSTS",
    "KEEL_STATICFILES_STORAGE",
)
ONE_YEAR = 31536000


GATE_KEY = base64.b64encode(os.urandom(32)).decode()


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOOSENING_VARS}
    # A production deployment has the gate's signing key; check --deploy warns without it (keel.W002).
    env.update(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="keel.example.org", KEEL_GATE_SIGNING_KEY=GATE_KEY)
    env.update(extra)
    return env


# --- production settings -------------------------------------------------------------------------------


def test_check_deploy_passes_with_no_issue_under_production_settings():
    secret = get_random_secret_key()
    assert len(secret) == 50
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=production_env(DJANGO_SECRET_KEY=secret))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


def test_check_deploy_warns_when_the_gate_has_no_signing_key():
    env = production_env(DJANGO_SECRET_KEY=get_random_secret_key())
    env.pop("KEEL_GATE_SIGNING_KEY", None)
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "keel.W002" in output
    assert "KEEL_GATE_SIGNING_KEY" in output


def test_production_defaults_are_secure_without_any_override():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
        "s.SESSION_COOKIE_HTTPONLY, s.SILENCED_SYSTEM_CHECKS)"
    )
    result = manage_py("shell", "-c", code, env=production_env(DJANGO_SECRET_KEY=get_random_secret_key()))
    assert result.returncode == 0, result.stderr
    # The last line: Django 5.2's shell may first report its automatic imports.
    assert result.stdout.strip().splitlines()[-1].split() == [
        "False",
        "True",
        "True",
        "True",
        str(ONE_YEAR),
        "True",
        "True",
        "True",
        "[]",
    ]


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=MANAGE_PY.parent, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_a_server_refuses_to_start_without_a_secret_key_outside_embedded_mode(module):
    result = run_python(f"import {module}", env=production_env())
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_a_celery_worker_refuses_to_start_without_a_secret_key():
    code = "import django; django.setup(); from celery import signals; signals.worker_init.send(sender=None)"
    result = run_python(code, env={**production_env(), "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_check_deploy_fails_without_a_secret_key():
    result = manage_py("check", "--deploy", env=production_env())
    assert result.returncode != 0
    assert "keel.E001" in result.stderr


def test_build_steps_need_no_secret_key():
    """makemigrations and collectstatic run in image builds, where no production secret should exist."""
    result = manage_py("makemigrations", "--check", "--dry-run", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_mode_starts_without_a_secret_key():
    result = manage_py("check", env=production_env(KEEL_EMBEDDED="true"))
    assert result.returncode == 0, result.stderr


# --- headers and cookies -------------------------------------------------------------------------------


@pytest.fixture
def production_http(settings):
    """The https-related values a production deployment runs with (tests run in embedded mode)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = ONE_YEAR
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.ALLOWED_HOSTS = ["keel.example.org", "testserver"]
    return settings


def csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_security_headers(response) -> None:
    hsts = response["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= ONE_YEAR
    assert "includeSubDomains" in hsts

    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/projects/", "text/html"),
        ("/governance/audit/", "text/html"),
        ("/api/docs/", "text/html"),
        ("/api/v1/projects/", "application/json"),
        ("/api/v1/audit-events/", "application/json"),
        ("/api/schema/", "application/vnd.oai.openapi"),
    ],
)
def test_security_headers_on_pages_and_api_under_production_settings(
    production_http, client, admin_user, project, path, content_type
):
    client.force_login(admin_user)
    response = client.get(path, secure=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert_security_headers(response)


def test_security_headers_on_the_login_page_for_an_anonymous_visitor(production_http, client, db):
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert_security_headers(response)


def test_security_headers_on_an_api_error(production_http, client, db):
    response = client.get("/api/v1/projects/", secure=True)
    assert response.status_code == 401
    assert_security_headers(response)


def test_plain_http_is_redirected_to_https_except_the_health_probe(production_http, client, admin_user):
    client.force_login(admin_user)
    response = client.get("/projects/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/projects/"
    assert client.get("/api/v1/projects/").status_code == 301
    assert client.get("/healthz").status_code in (200, 503)  # probed over plain http: no redirect


def test_login_sets_a_secure_httponly_samesite_session_cookie(production_http, client, team_lead):
    login_page = client.get("/login/", secure=True)
    csrf_cookie = login_page.cookies["csrftoken"]
    assert csrf_cookie["secure"] is True
    assert csrf_cookie["httponly"] is True

    response = client.post("/login/", {"username": "lead", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    session_cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] is True
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    assert 0 < int(session_cookie["max-age"]) <= 8 * 3600


def test_login_issues_a_new_session_key(client, team_lead):
    client.get("/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    client.post("/login/", {"username": "lead", "password": PASSWORD})
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(team_lead.pk)


# --- CSRF ----------------------------------------------------------------------------------------------


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def project_form(team) -> dict:
    return {
        "name": "Triage bot",
        "purpose": "Routes claims.",
        "team": team.pk,
        "owner": team.lead_id,
        "stage": "idea",
        "health": "on_track",
        "currency": "EUR",
        "expected_investment": "0",
        "expected_annual_value": "0",
        "horizon_months": "36",
    }


def test_a_session_post_to_a_page_without_a_csrf_token_is_403(csrf_client, team_lead, team):
    csrf_client.force_login(team_lead)
    response = csrf_client.post("/projects/new/", project_form(team))
    assert response.status_code == 403
    assert not AIProject.objects.filter(name="Triage bot").exists()


def test_a_session_post_to_a_page_with_the_csrf_token_goes_through(csrf_client, team_lead, team):
    csrf_client.force_login(team_lead)
    csrf_client.get("/projects/new/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post("/projects/new/", {**project_form(team), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert AIProject.objects.filter(name="Triage bot").exists()


def test_a_session_post_to_the_api_without_a_csrf_token_is_403(csrf_client, team_lead, team):
    csrf_client.force_login(team_lead)
    body = {"name": "Triage bot", "purpose": "Routes claims.", "team": team.slug, "owner": "lead"}
    response = csrf_client.post("/api/v1/projects/", body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not AIProject.objects.filter(name="Triage bot").exists()

    csrf_client.get("/projects/new/")  # any page with a form sets the CSRF cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/api/v1/projects/", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/login/", "/logout/"])
def test_login_and_logout_posts_without_a_csrf_token_are_403(csrf_client, team_lead, path):
    if path == "/logout/":
        csrf_client.force_login(team_lead)
    response = csrf_client.post(path, {"username": "lead", "password": PASSWORD})
    assert response.status_code == 403


# --- login lockout (django-axes) -----------------------------------------------------------------------


def failed_login(client, username: str = "lead", ip: str = "127.0.0.1"):
    return client.post("/login/", {"username": username, "password": "wrong-password"}, REMOTE_ADDR=ip)


def good_login(client, username: str = "lead", ip: str = "127.0.0.1"):
    return client.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def move_axes_clock_forward(monkeypatch, delta: dt.timedelta) -> None:
    monkeypatch.setattr(axes.handlers.proxy, "now", lambda: timezone.now() + delta)


def test_five_failed_logins_lock_the_account_even_for_the_right_password(client, team_lead):
    assert django_settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response = failed_login(client)
        assert response.status_code == 200
        assert "Your username and password didn't match" in response.content.decode()
    assert_locked_out(failed_login(client))  # the fifth failure locks

    assert_locked_out(good_login(client))
    assert not is_logged_in(client)


def test_the_lock_lifts_after_the_cool_off(client, monkeypatch, team_lead):
    cool_off = dt.timedelta(hours=django_settings.AXES_COOLOFF_TIME)
    assert dt.timedelta(0) < cool_off <= dt.timedelta(minutes=30)  # a cool-off, not a permanent lock
    for _ in range(5):
        failed_login(client)
    assert_locked_out(good_login(client))

    move_axes_clock_forward(monkeypatch, cool_off + dt.timedelta(minutes=1))
    response = good_login(client)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_logged_in(client)


def test_trying_again_during_the_lock_restarts_the_cool_off(client, monkeypatch, team_lead):
    """The cool-off counts from the last attempt: an attacker who keeps guessing stays locked out."""
    cool_off = dt.timedelta(hours=django_settings.AXES_COOLOFF_TIME)
    for _ in range(5):
        failed_login(client)

    move_axes_clock_forward(monkeypatch, cool_off - dt.timedelta(minutes=1))
    assert_locked_out(good_login(client))
    move_axes_clock_forward(monkeypatch, cool_off + dt.timedelta(minutes=1))
    assert_locked_out(good_login(client))
    assert not is_logged_in(client)

    # A full cool-off after that last attempt, the account opens again.
    move_axes_clock_forward(monkeypatch, 2 * cool_off + dt.timedelta(minutes=2))
    assert good_login(client).status_code == 302
    assert is_logged_in(client)


def test_a_successful_login_before_the_limit_resets_the_count(client, team_lead):
    for _ in range(4):
        failed_login(client)
    assert good_login(client).status_code == 302
    client.logout()
    for _ in range(4):
        assert failed_login(client).status_code == 200
    assert good_login(client).status_code == 302


def test_the_lock_holds_one_username_at_one_address_so_the_owner_elsewhere_still_signs_in(client, team_lead):
    """Keyed on the pair (settings.AXES_LOCKOUT_PARAMETERS): a lock on the username alone would let anyone
    lock a reviewer out from anywhere. Proxy and spoofing cases: tests/core/test_lockout_behind_proxy.py."""
    for _ in range(5):
        failed_login(client, ip="10.0.0.1")
    assert_locked_out(good_login(client, ip="10.0.0.1"))
    assert good_login(Client(), ip="10.0.0.99").status_code == 302


def test_one_address_failing_for_one_username_does_not_lock_the_others_there(client, team_lead, executive):
    """An address is often a NAT or a proxy many people share: the lock is on the pair, not the address."""
    for _ in range(5):
        failed_login(client, username="exec", ip="10.9.9.9")
    assert_locked_out(good_login(client, username="exec", ip="10.9.9.9"))
    assert good_login(Client(), ip="10.9.9.9").status_code == 302


def test_failed_logins_against_another_account_do_not_lock_this_one(client, team_lead, executive):
    for n in range(4):
        failed_login(client, username="exec", ip=f"10.2.0.{n + 1}")
    assert good_login(client, username="lead", ip="10.3.0.1").status_code == 302


# --- OpenAPI -------------------------------------------------------------------------------------------


def test_the_openapi_schema_builds_and_validates_with_no_warnings(tmp_path, db):
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    assert schema.startswith("openapi: 3.0.3")
    assert "/api/v1/audit-events/:" in schema
    assert "tokenAuth:" in schema
    assert "StageEnum:" in schema


def test_api_docs_use_only_local_static_assets(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", html)
    assert len(urls) >= 4  # css, favicon, two bundles, init script
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), url
        assert url.startswith(("/static/", "/api/docs/?")), url
    # No inline script: the init script is a separate same-origin file, so script-src 'self' suffices.
    assert re.findall(r"<script\b[^>]*>([^<]*)</script>", html) == [""] * html.count("<script")
    assert not re.search(r"https?://", html)


def test_api_docs_init_script_is_served_from_the_same_origin_without_cdn_urls(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/api/docs/").content.decode()
    script_url = re.search(r"<script src=\"(/api/docs/\?[^\"]*)\"", html).group(1).replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    assert not re.search(r"https?://", script.content.decode())


def test_api_docs_and_schema_are_closed_to_anonymous_visitors(client, db):
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == "/login/?next=/api/docs/"
    assert client.get("/api/schema/").status_code == 401


def test_a_secret_key_starting_with_a_dollar_sign_is_taken_as_it_is():
    """django-environ would read "$abc" as the name of another variable; Django's generator makes such keys."""
    secret = "$" + get_random_secret_key()[1:]
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=production_env(DJANGO_SECRET_KEY=secret))
    assert result.returncode == 0, result.stdout + result.stderr
