"""Demo data for the embedded mode: teams, 26 AI projects across every stage, one user per persona,
and the registry connection "Local MLflow (demo)" to the MLflow server that `make run` starts.

Idempotent: a second run finds the data in place and only prints the credentials again. Demo
passwords are generated per install (never committed) and kept in var/demo-credentials.json.
The MLflow server itself is filled by `manage.py seed_demo_mlflow`.
"""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.roles import Role
from projects.inventory import services as inventory_services
from projects.models import AIProject, Health, Registry, RegistryKind, Stage, Team
from projects.registries import services as registry_services

User = get_user_model()

# username, first, last, role, is_staff/superuser
PERSONAS = [
    ("exec", "Erin", "Okafor", Role.EXECUTIVE, False),
    ("risk", "Ravi", "Lindqvist", Role.RISK_OFFICER, False),
    ("lead", "Lena", "Moreau", Role.TEAM_LEAD, False),
    ("dpo", "Dana", "Petrov", Role.COMPLIANCE, False),
    ("admin", "Ada", "Brandt", Role.ADMIN, True),
]
# Other people who own projects; they cannot sign in (unusable passwords).
OWNERS = [
    ("tomas", "Tomás", "Ruiz", Role.TEAM_LEAD),
    ("mei", "Mei", "Tanaka", Role.TEAM_LEAD),
    ("omar", "Omar", "Haddad", Role.TEAM_LEAD),
    ("sofia", "Sofia", "Bianchi", Role.EXECUTIVE),
]
TEAMS = [
    ("Claims", "lead", "Claims handling and fraud."),
    ("Customer Service", "lead", "Contact centre and self-service."),
    ("Marketing", "tomas", "Acquisition, retention and pricing."),
    ("Operations", "mei", "Supply chain, forecasting and maintenance."),
    ("Risk Analytics", "omar", "Credit and market risk models."),
]
_S = Stage
# name, team, stage, health, investment, annual value, purpose
PROJECTS = [
    ("Claims fraud scoring", "Claims", _S.PRODUCTION, Health.ON_TRACK, 420_000, 1_600_000, "Scores each incoming claim for fraud risk so investigators see the riskiest first."),
    ("Claims triage assistant", "Claims", _S.VALIDATION, Health.AT_RISK, 250_000, 700_000, "Routes new claims to the right handler queue from the first notice of loss."),
    ("Damage photo assessment", "Claims", _S.DEVELOPMENT, Health.ON_TRACK, 380_000, 900_000, "Estimates repair cost from photos of vehicle damage."),
    ("Subrogation finder", "Claims", _S.DESIGN, Health.ON_TRACK, 90_000, 300_000, "Finds paid claims where a third party should reimburse us."),
    ("Claims letter drafting", "Claims", _S.IDEA, Health.ON_TRACK, 60_000, 150_000, "Drafts claim decision letters for a handler to review and send."),
    ("Legacy claims rules engine", "Claims", _S.RETIRED, Health.ON_TRACK, 150_000, 0, "Rule-based fraud flags, replaced by the fraud scoring model."),
    ("Support chatbot", "Customer Service", _S.PRODUCTION, Health.AT_RISK, 300_000, 850_000, "Answers policy questions on the website and hands over to an agent when unsure."),
    ("Call summarisation", "Customer Service", _S.PRODUCTION, Health.ON_TRACK, 120_000, 400_000, "Summarises contact-centre calls into the CRM."),
    ("Complaint classifier", "Customer Service", _S.VALIDATION, Health.ON_TRACK, 80_000, 200_000, "Tags complaints by regulation-relevant category for reporting."),
    ("Agent next-best-action", "Customer Service", _S.DESIGN, Health.OFF_TRACK, 200_000, 500_000, "Suggests the next step to an agent during a call."),
    ("Voice emotion detection", "Customer Service", _S.IDEA, Health.AT_RISK, 50_000, 100_000, "Proposal: detect caller frustration from voice (prohibited at work under the AI Act; under review)."),
    ("Churn prediction", "Marketing", _S.PRODUCTION, Health.ON_TRACK, 180_000, 750_000, "Predicts which customers will not renew so retention can call them."),
    ("Dynamic pricing", "Marketing", _S.VALIDATION, Health.AT_RISK, 500_000, 2_000_000, "Adjusts renewal premiums within approved bands."),
    ("Campaign uplift model", "Marketing", _S.DEVELOPMENT, Health.ON_TRACK, 110_000, 350_000, "Targets campaigns at customers most likely to respond."),
    ("Ad copy generator", "Marketing", _S.DESIGN, Health.ON_TRACK, 40_000, 120_000, "Generates ad copy variants for human approval."),
    ("Lookalike audiences", "Marketing", _S.RETIRED, Health.OFF_TRACK, 70_000, 0, "Retired after the third-party cookie deprecation."),
    ("Demand forecasting", "Operations", _S.PRODUCTION, Health.ON_TRACK, 350_000, 1_200_000, "Forecasts weekly parts demand per warehouse."),
    ("Predictive maintenance", "Operations", _S.DEVELOPMENT, Health.AT_RISK, 450_000, 1_100_000, "Predicts equipment failures from sensor data."),
    ("Invoice extraction", "Operations", _S.PRODUCTION, Health.ON_TRACK, 95_000, 380_000, "Reads supplier invoices into the ERP."),
    ("Route optimisation", "Operations", _S.VALIDATION, Health.ON_TRACK, 220_000, 640_000, "Plans field-engineer routes each morning."),
    ("Warehouse vision QA", "Operations", _S.IDEA, Health.ON_TRACK, 160_000, 300_000, "Spots damaged parcels on the conveyor."),
    ("Credit scoring", "Risk Analytics", _S.PRODUCTION, Health.AT_RISK, 600_000, 2_400_000, "Scores consumer credit applications (high-risk under Annex III)."),
    ("Anti-money-laundering alerts", "Risk Analytics", _S.VALIDATION, Health.ON_TRACK, 520_000, 1_500_000, "Ranks transaction-monitoring alerts for analysts."),
    ("Market risk scenario generator", "Risk Analytics", _S.DEVELOPMENT, Health.ON_TRACK, 300_000, 600_000, "Generates stress scenarios for the market risk desk."),
    ("Collections prioritisation", "Risk Analytics", _S.DESIGN, Health.ON_TRACK, 130_000, 450_000, "Orders overdue accounts by likelihood of recovery."),
    ("Early-warning signals", "Risk Analytics", _S.IDEA, Health.ON_TRACK, 90_000, 250_000, "Flags corporate borrowers showing early signs of distress."),
]  # fmt: skip
LIFECYCLE = [Stage.IDEA, Stage.DESIGN, Stage.DEVELOPMENT, Stage.VALIDATION, Stage.PRODUCTION]
DEMO_REGISTRY = "Local MLflow (demo)"
DEMO_SYNC_SECONDS = 60


def demo_mlflow_enabled() -> bool:
    return settings.KEEL_DEMO_MLFLOW


def demo_mlflow_url() -> str:
    """The local MLflow server that scripts/run_embedded.sh starts (KEEL_MLFLOW_PORT, default 5055)."""
    return f"http://127.0.0.1:{settings.KEEL_MLFLOW_PORT}"


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


class Command(BaseCommand):
    help = "Load demo teams, projects and one user per persona (embedded mode only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow outside the embedded/debug mode")

    def handle(self, *args, force: bool, **options):
        if not (settings.EMBEDDED or settings.DEBUG or force):
            raise CommandError("seed_demo creates users with known passwords; run it only in the embedded mode.")
        passwords = self.seed_users()
        created = self.seed_portfolio()
        self.stdout.write(
            f"Demo data: {Team.objects.count()} teams, {AIProject.objects.count()} projects ({created} created now)."
        )
        registry = self.seed_registry()
        if registry is not None:
            state = f"synced every {registry.sync_interval_seconds} s" if registry.enabled else "disabled"
            self.stdout.write(f"Demo registry: {registry.name} at {registry.base_url} ({state}).")
        self.stdout.write("Demo users (password per install, kept in var/demo-credentials.json):")
        for username, _first, _last, role, _staff in PERSONAS:
            self.stdout.write(f"  {role.label:<24} {username:<6} {passwords[username]}")

    @transaction.atomic
    def seed_users(self) -> dict[str, str]:
        path = credentials_path()
        saved = json.loads(path.read_text()) if path.exists() else {}
        passwords = {}
        for username, first, last, role, staff in PERSONAS:
            user, _ = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
            password = saved.get(username)
            if not password or not user.check_password(password):
                password = secrets.token_urlsafe(9)
                user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.email = f"{username}@demo.keel.invalid"
            user.save()
            user.groups.add(Group.objects.get(name=role))
            passwords[username] = password
        for username, first, last, role in OWNERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_unusable_password()
                user.save()
            user.groups.add(Group.objects.get(name=role))
        path.write_text(json.dumps(passwords, indent=2))
        os.chmod(path, 0o600)
        return passwords

    @transaction.atomic
    def seed_portfolio(self) -> int:
        users = {u.username: u for u in User.objects.filter(username__in=[p[0] for p in PERSONAS + OWNERS])}
        teams = {}
        for name, lead, description in TEAMS:
            team = Team.objects.filter(name=name).first()
            if team is None:
                team = inventory_services.team_create(by=None, name=name, description=description, lead=users[lead])
            teams[name] = team
        sponsors = [users["exec"], users["sofia"]]
        created = 0
        for i, (name, team_name, stage, health, investment, value, purpose) in enumerate(PROJECTS):
            if AIProject.objects.filter(name=name).exists():
                continue
            team = teams[team_name]
            project = inventory_services.project_create(
                by=None,
                name=name,
                purpose=purpose,
                team=team,
                owner=team.lead,
                executive_sponsor=sponsors[i % 2],
                health=health,
                expected_investment=Decimal(investment),
                expected_annual_value=Decimal(value),
                horizon_months=36,
            )
            # Walk the lifecycle so the audit trail shows how each project got where it is.
            path = LIFECYCLE[1 : LIFECYCLE.index(stage) + 1] if stage != Stage.RETIRED else [Stage.RETIRED]
            for step in path:
                project = inventory_services.project_change_stage(by=None, project=project, stage=step)
            created += 1
        return created

    def seed_registry(self) -> Registry | None:
        """The connection to the demo MLflow server; follows KEEL_MLFLOW_PORT and KEEL_DEMO_MLFLOW."""
        registry = Registry.objects.filter(name=DEMO_REGISTRY).first()
        enabled = demo_mlflow_enabled()
        if registry is None:
            if not enabled:
                return None
            return registry_services.registry_create(
                by=None,
                name=DEMO_REGISTRY,
                kind=RegistryKind.MLFLOW,
                base_url=demo_mlflow_url(),
                sync_interval_seconds=DEMO_SYNC_SECONDS,
            )
        wanted = {"enabled": enabled, **({"base_url": demo_mlflow_url()} if enabled else {})}
        return registry_services.registry_update(by=None, registry=registry, **wanted)
