"""Keel started as the shipped production configuration runs it, and walked through as a proxy would.

deploy/keel.sh (what the systemd units and the compose file call) runs the release step (migrate,
`check --deploy --fail-level WARNING`), gunicorn with deploy/gunicorn.conf.py, two Celery workers and
one beat, on the test's PostgreSQL database and Redis, with DEBUG off, no KEEL_EMBEDDED, a real secret
and gate key, and KEEL_BEHIND_PROXY=true. Requests carry the headers a TLS-terminating proxy adds.

Static files are collected with Django's ManifestStaticFilesStorage instead of whitenoise's compressed
one (the production default): the same hashed names and the same whitenoise serving, without the
minute of CPU that compressing 47 MB takes (the Containerfile pays it once, at build time).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from core.models import Heartbeat
from core.roles import Role
from core.services import api_token_create
from governance.lineage.queue import queue_status
from governance.models import AuditEvent, LineageEvent
from tests.conftest import need_service
from tests.factories import make_user
from tests.integration.conftest import CeleryProcess, test_database_url, wait_for
from tests.lineage_events import event

pytestmark = [pytest.mark.integration, pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
KEEL_SH = ROOT / "deploy" / "keel.sh"
HOST = "keel.example.test"
ORIGIN = f"https://{HOST}"
START_TIMEOUT = 90  # seconds for gunicorn to listen, and for workers and beat to record their heartbeats
PASSWORD = "a-long-production-password-1"  # a throwaway user in the test database
# What the pages must not show with DEBUG off.
DEBUG_MARKERS = ("Traceback", "DEBUG = True", "technical_500")


def production_env(var_dir: Path) -> dict[str, str]:
    """The process environment of a production install: nothing of the test run's KEEL_*/DJANGO_* leaks in."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "DJANGO_"))}
    return {
        **inherited,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), inherited.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "KEEL_BEHIND_PROXY": "true",
        "KEEL_GATE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "KEEL_BASE_URL": ORIGIN,
        "KEEL_VAR_DIR": str(var_dir),
        "KEEL_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
        # Ephemeral port (read back from gunicorn's log); two web workers, one process per Celery worker.
        "KEEL_WEB_BIND": "127.0.0.1:0",
        "KEEL_WEB_WORKERS": "2",
        "KEEL_WORKER_CONCURRENCY": "1",
        "KEEL_HEARTBEAT_SECONDS": "2",
    }


class Profile:
    """The running processes, and an HTTP client that talks to gunicorn as the proxy in front of it would."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.env = env
        self.procs: list[CeleryProcess] = []
        self.base = ""
        self.cookies: dict[str, str] = {}

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(KEEL_SH), *args], cwd=self.tmp_path, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self, name: str, *args: str) -> CeleryProcess:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [str(KEEL_SH), *args], cwd=self.tmp_path, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process = CeleryProcess(name=name, proc=proc, log_path=log_path)
        self.procs.append(process)
        return process

    def request(self, method: str, path: str, *, https: bool = True, **kwargs) -> requests.Response:
        """One request as the proxy forwards it: Host, X-Forwarded-Proto/For, and the session's cookies.

        Cookies are kept by hand: Keel marks them Secure, and an http client would never send them back."""
        headers = {"Host": HOST, "X-Forwarded-For": "203.0.113.7", **kwargs.pop("headers", {})}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for raw in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = raw.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response


@pytest.fixture
def profile(request, transactional_db, celery_broker, tmp_path):
    need_service(bool(settings.REDIS_URL), "Redis (REDIS_URL) for the production profile")
    prof = Profile(tmp_path, production_env(tmp_path / "var"))
    request.node._celery_processes = prof.procs  # their logs are attached to a failing test's report
    try:
        yield prof
    finally:
        for process in reversed(prof.procs):
            process.kill()


def test_the_shipped_production_profile_starts_and_serves_the_main_pages_and_api(profile):
    t0 = time.monotonic()
    # Workers and beat start while the release step and the image's static step run (the test database is
    # migrated already, so the order does not matter here, and the two CPUs are used while each waits).
    workers = [profile.start(f"worker{n}", "worker") for n in (1, 2)]
    beat = profile.start("beat", "beat")
    collect = profile.start("collectstatic", "collectstatic", "-v0")
    release = profile.run("release")
    assert release.returncode == 0, release.stdout + release.stderr
    assert "System check identified no issues" in release.stdout
    assert collect.proc.wait(timeout=180) == 0, collect.read_log()
    profile.procs.remove(collect)
    released = time.monotonic() - t0

    web = profile.start("web", "web")
    everything = (web, *workers, beat)
    port = wait_for(
        lambda: re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", web.read_log()),
        timeout=START_TIMEOUT, what="gunicorn to listen", watch=everything,
    ).group(1)  # fmt: skip
    profile.base = f"http://127.0.0.1:{port}"
    wait_for(
        lambda: web.read_log().count("Booting worker with pid") == 2,
        timeout=START_TIMEOUT, what="gunicorn's two workers (KEEL_WEB_WORKERS) to boot", watch=everything,
    )  # fmt: skip

    # Probes over plain http (no redirect): ready at once; healthy once both workers and beat beat.
    ready = profile.request("GET", "/readyz", https=False)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "database": ready.json()["database"],
                                                       "migrations": {"ok": True}})  # fmt: skip
    for worker in workers:
        wait_for(
            lambda w=worker: Heartbeat.objects.filter(name=Heartbeat.WORKER, detail__endswith=f":{w.pid}").exists()
            or "ready." in w.read_log(),
            timeout=START_TIMEOUT, what=f"{worker.name} to start", watch=everything,
        )  # fmt: skip
    health = wait_for(
        lambda: (r := profile.request("GET", "/healthz", https=False)).status_code == 200 and r,
        timeout=START_TIMEOUT, what="/healthz to report database, broker, worker and beat ok", watch=everything,
    )  # fmt: skip
    assert health.json()["status"] == "ok"
    started = time.monotonic() - t0

    # Plain http that did not come through the TLS proxy is sent to https.
    plain = profile.request("GET", "/", https=False)
    assert (plain.status_code, plain.headers["Location"]) == (301, f"{ORIGIN}/")

    # Through the proxy: security headers, and the sign-in page for an anonymous visitor.
    home = profile.request("GET", "/")
    assert (home.status_code, home.headers["Location"]) == (302, "/login/?next=/")
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert home.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in home.headers["Content-Security-Policy"]

    # Sign in: Secure, HttpOnly cookies; CSRF checked against the https origin.
    admin = make_user("ops-admin", Role.ADMIN, is_staff=True)
    # A hash the server's hashers know (the test process hashes with MD5, for speed; production has no MD5).
    hasher = PBKDF2PasswordHasher()
    admin.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin.save(update_fields=["password"])
    login = profile.request("GET", "/login/")
    assert login.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    signed_in = profile.request(
        "POST", "/login/", headers={"Origin": ORIGIN, "Referer": f"{ORIGIN}/login/"},
        data={"username": "ops-admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )  # fmt: skip
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/")
    session_cookie = next(c for c in signed_in.raw.headers.getlist("Set-Cookie") if c.startswith("sessionid="))
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    [sign_in] = AuditEvent.objects.filter(action="user.signed_in", actor_id=admin.pk)
    assert sign_in.after == {"address": "203.0.113.7"}  # the client, from the proxy's X-Forwarded-For

    # The main pages, with DEBUG off; the stylesheet they link is served by whitenoise under its hash.
    for path in ("/", "/projects/", "/projects/registries/", "/governance/dashboard/", "/governance/risks/",
                 "/governance/findings/", "/governance/signoffs/", "/governance/audit/", "/governance/pii/",
                 "/api/docs/", "/admin/"):  # fmt: skip
        page = profile.request("GET", path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        assert not any(marker in page.text for marker in DEBUG_MARKERS), path
    css = re.search(r'href="(/static/css/keel\.[0-9a-f]{12}\.css)"', page.text) or re.search(
        r'href="(/static/css/keel\.[0-9a-f]{12}\.css)"', profile.request("GET", "/").text
    )
    stylesheet = profile.request("GET", css.group(1))
    assert stylesheet.status_code == 200
    assert "immutable" in stylesheet.headers["Cache-Control"]
    missing = profile.request("GET", "/no-such-page/")
    assert missing.status_code == 404
    assert not any(marker in missing.text for marker in DEBUG_MARKERS)

    # The API with a machine token: reads, an audited write, and lineage applied by a worker from its queue.
    bot = make_user("ops-bot", Role.ADMIN)
    _, key = api_token_create(user=bot, name="smoke", lineage_namespaces=["*"])
    api = {"Authorization": f"Bearer {key}"}
    profile.cookies.clear()
    for path in ("/api/v1/", "/api/v1/projects/", "/api/v1/registries/", "/api/v1/findings/",
                 "/api/v1/audit-events/", "/api/schema/"):  # fmt: skip
        answer = profile.request("GET", path, headers=api)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    refused = profile.request("POST", "/api/v1/teams/", headers=api, json={"name": ""})
    assert refused.status_code == 400
    created = profile.request("POST", "/api/v1/teams/", headers=api, json={"name": "Platform"})
    assert created.status_code == 201, created.text
    [audited] = AuditEvent.objects.filter(action="team.created", object_id=str(created.json()["id"]))
    assert (audited.actor_id, audited.after["name"]) == (bot.pk, "Platform")
    posted = profile.request("POST", "/api/v1/lineage", headers=api, json=event())
    assert (posted.status_code, posted.json()["status"]) == (201, "accepted"), posted.text
    wait_for(lambda: queue_status().pending == 0, timeout=60, what="a worker to apply the lineage", watch=everything)
    assert LineageEvent.objects.get().apply_error == ""
    assert any("governance.tasks.apply_lineage" in w.read_log() for w in workers)
    # Every process is still up; how long the profile took to start is in the report (-rP).
    assert all(p.alive() for p in everything)
    walked = time.monotonic() - t0 - started
    print(f"production profile: release + static {released:.1f} s, all up {started:.1f} s, walk {walked:.1f} s")
