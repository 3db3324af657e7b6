"""Fill the embedded demo's local MLflow server with models tagged to the demo projects.

`make run` starts `mlflow server` on 127.0.0.1 (KEEL_MLFLOW_PORT, default 5055) and runs this after
seed_demo. It speaks MLflow's REST API with requests, so it needs no mlflow package, only a server.

Idempotent: a model that carries the `keel.demo` tag was seeded completely and is left alone (so
aliases you move by hand in the MLflow UI stay where you put them); a model without it (new, or
cut short by an interrupted run) is brought to its full set of versions, tags and aliases, and
tagged last. Writes are never retried: a retried POST can create a version twice.
"""

from __future__ import annotations

import time

import requests
from django.core.management.base import BaseCommand, CommandError

from projects.models import AIProject, Registry
from projects.registries.services import registry_sync_enqueue

from .seed_demo import DEMO_REGISTRY, demo_mlflow_url

API = "/api/2.0/mlflow"
DONE_TAG = "keel.demo"
TIMEOUT = (3.05, 30)

# name, project (None: not linked), description, team tag, versions, aliases, legacy stages
MODELS = [
    ("claims-fraud-scorer", "Claims fraud scoring", "Gradient-boosted fraud score per incoming claim.", "claims",
     4, {"champion": 3, "challenger": 4, "production": 3}, {}),
    ("claims-triage-router", "Claims triage assistant", "Routes first notices of loss to handler queues.", "claims",
     3, {"challenger": 3}, {}),
    ("support-chatbot-intent", "Support chatbot", "Intent classifier behind the support chatbot.", "service",
     3, {"production": 2, "champion": 2, "challenger": 3}, {}),
    ("call-summariser", "Call summarisation", "Summarises contact-centre calls into the CRM.", "service",
     2, {"production": 2}, {}),
    ("churn-predictor", "Churn prediction", "Renewal churn propensity, retrained monthly.", "marketing",
     5, {"champion": 4, "challenger": 5, "production": 4}, {3: "Archived", 4: "Production"}),
    # Serving in production while its project is still in validation, with no sign-off: the case
    # governance should flag as "deployed without approval".
    ("dynamic-pricing-gbm", "Dynamic pricing", "Renewal premium adjustment within approved bands.", "marketing",
     2, {"production": 2, "challenger": 1}, {}),
    ("demand-forecaster", "Demand forecasting", "Weekly parts demand per warehouse.", "operations",
     6, {"champion": 5, "challenger": 6, "production": 5}, {5: "Production"}),
    ("invoice-extractor", "Invoice extraction", "Reads supplier invoices into the ERP.", "operations",
     2, {"production": 2}, {}),
    ("credit-scorecard", "Credit scoring", "Consumer credit scorecard (Annex III high-risk).", "risk-analytics",
     4, {"champion": 3, "production": 3, "challenger": 4}, {}),
    ("aml-alert-ranker", "Anti-money-laundering alerts", "Ranks transaction-monitoring alerts.", "risk-analytics",
     2, {"challenger": 2}, {}),
    ("sandbox-embeddings", None, "A data scientist's experiment, linked to no project.", "risk-analytics",
     1, {}, {}),
    # Serving production while linked to no project: nobody owns it, so governance flags it as an
    # "unowned model in production" (the registry's page shows it unlinked, holding the alias).
    ("claims-ocr-shadow", None, "Claim-form OCR someone promoted without registering a project.", "claims",
     2, {"production": 2}, {}),
]  # fmt: skip


class MlflowRest:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(f"{self.url}{API}/{path}", params=params, timeout=TIMEOUT)

    def post(self, path: str, body: dict) -> dict:
        r = self.session.post(f"{self.url}{API}/{path}", json=body, timeout=TIMEOUT)
        if r.status_code != 200:
            raise CommandError(f"MLflow refused POST {path} ({r.status_code}): {r.text[:300]}")
        return r.json()

    def wait_ready(self, seconds: float) -> None:
        """Poll a real API route (/health skips MLflow's host check) until it answers 200."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                if self.get("registered-models/search", max_results=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"No MLflow answered at {self.url} within {seconds:.0f} s.")
            time.sleep(0.5)


def _tags(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def data_scientist(team: str) -> str:
    """Who trains a team's models in the demo: not a Keel user, so never one of its reviewers. A version's
    author is read from its run (MLflow 3 leaves the version's own user empty)."""
    return f"ds-{team}"


def run_metrics(name: str, v: int) -> dict[str, float]:
    """Plausible metrics that improve a little with each retrain (the challenger beats the champion)."""
    base = 0.80 + (sum(map(ord, name)) % 7) / 100
    return {"auc": round(base + 0.012 * v, 3), "recall": round(base - 0.1 + 0.015 * v, 3), "precision": 0.83}


class Command(BaseCommand):
    help = "Fill the local demo MLflow server with models tagged to the demo projects (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="MLflow tracking URL (default: the demo registry's URL)")
        parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the server to answer")
        parser.add_argument("--sync", action="store_true", help="then ask a worker to sync the demo registry now")

    def handle(self, *args, url: str, wait: float, sync: bool, **options):
        url = url or demo_mlflow_url()
        mlflow = MlflowRest(url)
        if wait:
            mlflow.wait_ready(wait)
        slugs = dict(AIProject.objects.values_list("name", "slug"))
        seeded = 0
        for spec in MODELS:
            seeded += self.seed_model(mlflow, slugs, *spec)
        self.stdout.write(f"Demo MLflow at {url}: {len(MODELS)} models ({seeded} seeded now).")
        registry = Registry.objects.filter(name=DEMO_REGISTRY, enabled=True).first()
        if sync and registry is not None:
            registry_sync_enqueue(registry=registry)  # outside a transaction: sent at once
            every = registry.sync_interval_seconds
            self.stdout.write(f"Asked a worker to sync {registry.name} now (and then every {every} s).")

    def seed_model(self, mlflow, slugs, name, project, description, team, n_versions, aliases, stages) -> int:
        r = mlflow.get("registered-models/get", name=name)
        if r.status_code == 200:
            tags = {t["key"]: t.get("value") for t in r.json()["registered_model"].get("tags", [])}
            if DONE_TAG in tags:
                return 0
        elif r.status_code == 404:
            tags = {"owner": team}
            if project is not None:
                if project not in slugs:
                    raise CommandError(f"Demo project {project!r} is missing: run `manage.py seed_demo` first.")
                tags["keel.project"] = slugs[project]
            mlflow.post("registered-models/create", {"name": name, "description": description, "tags": _tags(tags)})
        else:
            raise CommandError(f"MLflow answered {r.status_code} for model {name}: {r.text[:300]}")

        found = mlflow.get("model-versions/search", filter=f"name='{name}'", max_results=1000)
        found.raise_for_status()
        have = len(found.json().get("model_versions", []))
        experiment_id = self.experiment(mlflow, name) if have < n_versions else ""
        for v in range(have + 1, n_versions + 1):
            run_id = self.training_run(mlflow, experiment_id, name, team, v)
            mlflow.post(
                "model-versions/create",
                {
                    "name": name,
                    "run_id": run_id,
                    "source": f"s3://keel-demo-models/{name}/{v}/model.tar.gz",
                    "description": f"Retrain #{v} on data up to 2026-{v + 3:02d}-01.",
                    "tags": _tags(
                        {
                            "data.snapshot": f"2026-{v + 3:02d}-01",
                            "validation_status": "passed" if v != n_versions or n_versions == 1 else "pending",
                        }
                    ),
                },
            )
        for version, stage in stages.items():
            mlflow.post(
                "model-versions/transition-stage",
                {"name": name, "version": str(version), "stage": stage, "archive_existing_versions": False},
            )
        for alias, version in aliases.items():
            mlflow.post("registered-models/alias", {"name": name, "alias": alias, "version": str(version)})
        # Last: the mark that this model is complete.
        mlflow.post("registered-models/set-tag", {"name": name, "key": DONE_TAG, "value": "true"})
        return 1

    def experiment(self, mlflow, name: str) -> str:
        """The model's experiment (one per model), created when missing."""
        r = mlflow.get("experiments/get-by-name", experiment_name=name)
        if r.status_code == 200:
            return r.json()["experiment"]["experiment_id"]
        return mlflow.post("experiments/create", {"name": name})["experiment_id"]

    def training_run(self, mlflow, experiment_id: str, name: str, team: str, v: int) -> str:
        """A finished run that trained version v: its user, a few params and its metrics."""
        start = int(time.time() * 1000) - (30 - v) * 86_400_000
        run = mlflow.post("runs/create", {
            "experiment_id": experiment_id, "start_time": start, "run_name": f"{name}-retrain-{v}",
            "tags": _tags({"mlflow.user": data_scientist(team)}),
        })["run"]  # fmt: skip
        run_id = run["info"]["run_id"]
        mlflow.post("runs/log-batch", {
            "run_id": run_id,
            "metrics": [{"key": k, "value": value, "timestamp": start + 60_000, "step": 0}
                        for k, value in run_metrics(name, v).items()],
            "params": _tags({"max_depth": "6", "learning_rate": "0.1", "data.snapshot": f"2026-{v + 3:02d}-01"}),
        })  # fmt: skip
        mlflow.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": start + 45 * 60_000})
        return run_id
