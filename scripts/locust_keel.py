"""The personas' journeys through Keel, for locust (scripts/bench_load.py runs it headless against gunicorn).

Not run by hand: bench_load.py seeds a throwaway database, writes the plan (who signs in with what, which
projects, risks, ROI entries and model versions exist) to the file LOAD_PLAN names, and starts locust
with this file. Each request is named by persona and step, so the report gives p50/p95 per request type.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, between, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())


_signed_in_once = set()


class _Persona(HttpUser):
    """A signed-in browser session (pages) and an API token (API calls). The first user of each persona
    signs in through the login page (session and CSRF cookies, as a browser); the others reuse a session
    the seed made, so the run measures the journeys rather than the password hasher."""

    abstract = True
    persona = ""
    wait_time = between(0.2, 1.0)

    def on_start(self):
        me = PLAN["personas"][self.persona]
        self.api = {"Authorization": f"Token {me['token']}"}
        if self.persona in _signed_in_once:
            self.client.cookies.set(PLAN["session_cookie"], me["session"])
            return
        _signed_in_once.add(self.persona)
        self.client.get("/login/", name="sign-in page")
        with self.client.post(
            "/login/",
            data={"username": me["username"], "password": me["password"],
                  "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")},
            headers={"Referer": f"{self.host}/login/"},
            name="sign-in", allow_redirects=False, catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 302:  # the form answers 200 with its errors on a failed sign-in
                r.failure(f"sign-in answered {r.status_code}")

    def page(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200:  # a redirect to the login page is a failure, not a page
                r.failure(f"{r.status_code} for {path}")


class Executive(_Persona):
    persona = "executive"
    weight = 3

    @task(3)
    def dashboard(self):
        self.page("/governance/dashboard/", "executive: dashboard")

    @task(2)
    def drill_down(self):
        self.page(f"/projects/{random.choice(PLAN['projects'])}/", "executive: project drill-down")  # noqa: S311

    @task(1)
    def summary(self):
        self.client.get("/api/v1/portfolio/summary", headers=self.api, name="executive: API portfolio summary")


class RiskOfficer(_Persona):
    persona = "risk_officer"
    weight = 2

    @task(2)
    def queue(self):
        self.page("/governance/signoffs/", "risk officer: review queue")

    @task(2)
    def findings(self):
        self.page("/governance/findings/", "risk officer: findings")

    @task(1)
    def audit(self):
        self.page("/governance/audit/", "risk officer: audit trail")

    @task(2)
    def review_a_risk(self):
        risk = random.choice(PLAN["reviewable_risks"])  # noqa: S311
        self.client.post(f"/api/v1/risks/{risk}/review/", json={"note": "Reviewed under load."}, headers=self.api,
                         name="risk officer: API risk review (decision)")  # fmt: skip


class TeamLead(_Persona):
    persona = "team_lead"
    weight = 2

    @task(2)
    def my_projects(self):
        self.page("/projects/", "team lead: my projects")

    @task(2)
    def log_roi(self):
        entry = random.choice(PLAN["roi_entries"])  # noqa: S311
        amount = f"{random.randint(1_000, 90_000)}.00"  # noqa: S311
        self.client.patch(f"/api/v1/roi-entries/{entry}/", json={"amount": amount}, headers=self.api,
                          name="team lead: API ROI actual logged")  # fmt: skip

    @task(1)
    def edit_risk(self):
        risk = random.choice(PLAN["lead_risks"])  # noqa: S311
        self.client.patch(f"/api/v1/risks/{risk}/", json={"description": f"Checked {uuid.uuid4().hex[:8]}."},
                          headers=self.api, name="team lead: API risk edit")  # fmt: skip


class Pipeline(HttpUser):
    """CI/CD asking the deployment gate, and an OpenLineage producer posting run events."""

    wait_time = between(0.2, 1.0)
    weight = 2

    def on_start(self):
        self.api = {"Authorization": f"Token {PLAN['personas']['pipeline']['token']}"}

    @task(3)
    def gate(self):
        registry, model, version = random.choice(PLAN["gate"])  # noqa: S311
        query = {"registry": registry, "model": model, "version": version, "environment": "production"}
        self.client.get("/api/v1/gate", headers=self.api, params=query, name="CI/CD: gate call")

    @task(1)
    def lineage(self):
        job = random.randint(1, 20)  # noqa: S311
        event = {
            "eventType": "COMPLETE", "eventTime": "2026-06-01T10:00:00Z", "producer": "https://example.org/load",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "load", "name": f"job-{job}"},
            "inputs": [{"namespace": "postgres://db:5432", "name": f"crm.table_{job}"}],
            "outputs": [{"namespace": "postgres://db:5432", "name": f"mart.table_{job}"}],
        }  # fmt: skip
        self.client.post("/api/v1/lineage", json=event, headers=self.api, name="OpenLineage: event posted")
