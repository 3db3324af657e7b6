"""Single sign-on is wired from the environment as README's settings table says: off by default, on with
KEEL_OIDC_ISSUER (its backend installed, the provider allowed as a form target for sign-out's redirect,
the maps read, password sign-in removable). Each case imports config/settings.py in a fresh interpreter,
as a deployment would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, config.settings as s; print(json.dumps({'backends': s.AUTHENTICATION_BACKENDS,"
    " 'form_action': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'], 'roles': s.KEEL_OIDC_ROLE_MAP,"
    " 'teams': s.KEEL_OIDC_TEAM_LEAD_MAP, 'issuer': s.KEEL_OIDC_ISSUER}))"
)


def settings_with(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_OIDC_") and k != "KEEL_LOCAL_PASSWORDS"}
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**base, "KEEL_EMBEDDED": "true", "KEEL_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_single_sign_on_is_off_unless_an_issuer_is_set(tmp_path):
    shown = json.loads(settings_with(tmp_path).stdout)
    assert shown["backends"] == [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
        "core.backends.AdminRoleBackend",
    ]
    assert shown["form_action"] == ["'self'"]


def test_an_issuer_installs_the_backend_and_reads_the_maps(tmp_path):
    done = settings_with(
        tmp_path,
        KEEL_OIDC_ISSUER="https://id.example.org/realms/acme/",
        KEEL_OIDC_ROLE_MAP="keel-risk=Risk Officer,keel-admins=Admin",
        KEEL_OIDC_TEAM_LEAD_MAP="fraud-leads=fraud-detection",
        KEEL_LOCAL_PASSWORDS="false",
    )
    shown = json.loads(done.stdout)
    assert shown["backends"] == [
        "axes.backends.AxesStandaloneBackend",
        "projects.inventory.oidc.OIDCBackend",
        "core.backends.AdminRoleBackend",
    ]
    assert shown["form_action"] == ["'self'", "https://id.example.org"]
    assert shown["roles"] == {"keel-risk": "Risk Officer", "keel-admins": "Admin"}
    assert shown["teams"] == {"fraud-leads": "fraud-detection"}
    assert shown["issuer"] == "https://id.example.org/realms/acme"
