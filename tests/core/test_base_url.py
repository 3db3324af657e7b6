"""Links in mail use the server's real address: KEEL_BASE_URL, which defaults from KEEL_PORT."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
print(settings.KEEL_BASE_URL)
"""


def base_url(tmp_path, **env) -> str:
    """KEEL_BASE_URL as a fresh process with this environment reads it."""
    env = {"KEEL_EMBEDDED": "true", "KEEL_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", **env}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"KEEL_PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"KEEL_PORT": "8123", "KEEL_BASE_URL": "https://keel.example.org/"}, "https://keel.example.org"),
    ],
)
def test_the_base_url_defaults_from_the_port_unless_set(tmp_path, env, expected):
    assert base_url(tmp_path, **env) == expected


def test_make_run_hands_its_port_to_web_worker_and_beat():
    """The worker sends the mail, so it must see the same port as the web server it links to."""
    script = (ROOT / "scripts" / "run_embedded.sh").read_text()
    assert "PORT=${KEEL_PORT:-8000}\n" in script
    assert "export KEEL_PORT=$PORT\n" in script
    assert script.index("export KEEL_PORT=$PORT") < script.index("$CELERY -A config worker")


@pytest.mark.django_db
def test_a_sign_off_mail_links_to_the_base_url(settings, mailoutbox, team_lead, risk_officer, project):
    from governance.signoff import notifications
    from projects.models import RiskTier
    from tests.signoff_factories import assess, linked_version, pending_request

    settings.KEEL_BASE_URL = "http://127.0.0.1:8123"
    risk_officer.email = "ravi@example.org"
    risk_officer.save()
    assess(project, RiskTier.MINIMAL, by=team_lead)
    request = pending_request(linked_version(project), team_lead)
    notifications.requested(request.pk)
    assert mailoutbox, "no reviewer was mailed"
    assert f"http://127.0.0.1:8123/governance/signoffs/{request.pk}/" in mailoutbox[0].body
