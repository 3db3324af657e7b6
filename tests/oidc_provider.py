"""A real OpenID Connect provider process for the single sign-on tests: oidc-provider-mock (PyPI) served on an
ephemeral loopback port, run as `python -m tests.oidc_provider` by the `oidc_provider` fixture.

The mock accepts any client id and redirect URI, signs RS256 ID tokens, publishes discovery, JWKS, userinfo
and an end-session endpoint, and lets a test set a subject's claims (`PUT /users/<sub>`). It does not check
PKCE, so this process wraps it in a small WSGI layer that does what a real provider does (RFC 7636 §4.6):
it remembers each authorization code's S256 challenge and refuses a token request whose verifier does not
match it, or that brings none.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30
CLIENT_ID = "keel-tests"
CLIENT_SECRET = "not-a-secret-only-for-the-loopback-provider"
PROVIDER_NAME = "Test IdP"


class PkceEnforcing:
    """WSGI middleware: the PKCE check the mock leaves out."""

    def __init__(self, app):
        self.app = app
        self.challenges: dict[str, str] = {}  # authorization code -> S256 challenge
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            with self.lock:
                challenge = self.challenges.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge is None or not verifier or digest != challenge:
                answer = json.dumps({"error": "invalid_grant", "error_description": "PKCE verification failed"})
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [answer.encode()]
            return self.app(environ, start_response)
        if path == "/oauth2/authorize":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            challenge = query.get("code_challenge", [None])[0]
            s256 = query.get("code_challenge_method", [None])[0] == "S256"

            def remembering(status, headers, exc_info=None):
                location = dict(headers).get("Location", "")
                code = parse_qs(urlsplit(location).query).get("code", [None])[0]
                if code and challenge and s256:
                    with self.lock:
                        self.challenges[code] = challenge
                return start_response(status, headers, exc_info)

            return self.app(environ, remembering)
        return self.app(environ, start_response)


def serve() -> None:
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback
    import werkzeug.serving
    from oidc_provider_mock import app

    server = werkzeug.serving.make_server("127.0.0.1", 0, PkceEnforcing(app()), threaded=True)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


@dataclass
class Provider:
    url: str

    def set_user(self, sub: str, **claims) -> None:
        """The claims the provider will give `sub` from now on (userinfo and the next ID token)."""
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def oidc_provider():
    """One provider process per test session (per xdist worker), on a port the OS chose."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = _first_line(process)
        yield Provider(url=line)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _first_line(process) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline().strip()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    if not found or not found[0].startswith("http://"):
        process.kill()
        raise RuntimeError(f"the OIDC provider did not start (exit code {process.poll()})")
    return found[0]


def use_provider(settings, provider: Provider, *, role_map=None, team_lead_map=None, local_passwords=True) -> None:
    """Point Keel at `provider` as config/settings.py does when KEEL_OIDC_ISSUER is set (test_oidc_settings
    checks that wiring from the environment)."""
    settings.KEEL_OIDC_ISSUER = provider.url
    settings.KEEL_OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.KEEL_OIDC_ROLE_MAP = role_map or {}
    settings.KEEL_OIDC_TEAM_LEAD_MAP = team_lead_map or {}
    settings.KEEL_LOCAL_PASSWORDS = local_passwords
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        *(["django.contrib.auth.backends.ModelBackend"] if local_passwords else []),
        "projects.inventory.oidc.OIDCBackend",
        "core.backends.AdminRoleBackend",
    ]
    policy = json.loads(json.dumps(settings.CONTENT_SECURITY_POLICY))
    policy["DIRECTIVES"]["form-action"].append(provider.url)
    settings.CONTENT_SECURITY_POLICY = policy


if __name__ == "__main__":
    serve()
