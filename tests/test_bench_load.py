"""The load test's journeys (scripts/locust_keel.py) for a few seconds, so `make bench`'s load test cannot rot
unnoticed: real locust in its own process, every persona's requests against a live Keel (pytest-django's
live_server, which spares the gunicorn and worker start-up scripts/bench_load.py does), 0 failures, and
the audit chain intact after the concurrent writes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from core.roles import Role
from core.services import api_token_create
from governance.audit.chain import verify_chain
from projects.roi.services import roi_entry_create
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory
from tests.risk_factories import RiskFactory

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "scripts" / "locust_keel.py"
JOURNEYS = {
    "executive: dashboard", "executive: project drill-down", "executive: API portfolio summary",
    "risk officer: review queue", "risk officer: findings", "risk officer: audit trail",
    "risk officer: API risk review (decision)", "team lead: my projects", "team lead: API ROI actual logged",
    "team lead: API risk edit", "CI/CD: gate call", "OpenLineage: event posted", "sign-in page", "sign-in",
}  # fmt: skip
PASSWORD = "load-smoke-" + "y" * 12


def persona(name: str, role: Role, **token) -> tuple:
    user = make_user(f"load-{name}", role)
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    client.force_login(user)
    key = api_token_create(user=user, name="load", days=None, **token)[1]
    me = {"username": user.username, "password": PASSWORD, "token": key,
          "session": client.cookies[django_settings.SESSION_COOKIE_NAME].value}  # fmt: skip
    return user, me


def plan() -> dict:
    _, ex = persona("executive", Role.EXECUTIVE)
    _, of = persona("risk_officer", Role.RISK_OFFICER)
    lead, le = persona("team_lead", Role.TEAM_LEAD)
    _, pipe = persona("pipeline", Role.TEAM_LEAD, lineage_namespaces=["load", "postgres://db:5432"])
    team = TeamFactory(lead=lead, members=[lead])
    project = AIProjectFactory(team=team, owner=lead)
    risk = RiskFactory(project=project)
    entry = roi_entry_create(by=None, project=project, month=dt.date(2026, 1, 1), kind="value", logged_by=lead,
                             category="cost_saving", basis="actual", amount=Decimal("1000.00"))  # fmt: skip
    version = ModelVersionFactory(registered_model=RegisteredModelFactory(project=project))
    model = version.registered_model
    return {
        "personas": {"executive": ex, "risk_officer": of, "team_lead": le, "pipeline": pipe},
        "session_cookie": django_settings.SESSION_COOKIE_NAME,
        "projects": [project.slug], "reviewable_risks": [risk.pk], "lead_risks": [risk.pk], "roi_entries": [entry.pk],
        "gate": [[model.registry.name, model.name, version.version]],
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_every_journey_runs_under_locust_without_a_failure(live_server, tmp_path, settings):
    settings.KEEL_LINEAGE_APPLY_INLINE = True  # no worker here: the POST applies the event itself
    # A sign-in's PBKDF2 takes seconds on a loaded CI machine; the smoke test is about the journeys.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan()))
    prefix = tmp_path / "locust"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", live_server.url,
         "-u", "9", "-r", "9", "-t", "6s", "--stop-timeout", "5", "--csv", str(prefix), "--only-summary",
         "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        env=dict(os.environ) | {"LOAD_PLAN": str(plan_file)}, capture_output=True, text=True, timeout=90,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with (tmp_path / "locust_stats.csv").open() as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    failures = (tmp_path / "locust_failures.csv").read_text()
    assert int(rows["Aggregated"]["Failure Count"]) == 0, failures
    # One user per persona class at least (9 users, weights 3:2:2:2), each of which signs in or works.
    assert {"sign-in", "CI/CD: gate call"} <= set(rows)
    assert set(rows) - {"Aggregated"} <= JOURNEYS
    assert int(rows["Aggregated"]["Request Count"]) >= 9
    result = verify_chain()
    assert result.ok, result.problem
