"""Demo governance data for the embedded mode, on top of `seed_demo`'s projects: an EU AI Act tier
assessment per project, a risk register for every project in validation or production (every
category, mitigations, each status), a few high and critical risks whose review is overdue, and the
findings the daily rule opens for them. And sign-offs of demo model versions: one approved (the
credit scorecard serving production, high tier: a risk officer and the compliance officer approved it)
and one waiting in the risk officer's queue (the fraud scorer's challenger, asked for by the team lead), and
the credit scorecard's challenger, approved by the risk officer and waiting for the DPO.
The sign-offs need the demo registry's versions: when none were synced yet, the demo registry is
synced here first; without it (KEEL_DEMO_MLFLOW=false) they are left out. And lineage: the credit-scoring
pipeline posted as OpenLineage events through the real ingest (governance/management/demo_lineage.py), so
personal data reaches Credit scoring's model and its obligations are live on first start.

Idempotent: a project already assessed keeps its tier (every demo project is assessed from deliberate
answers except one left "not assessed" on purpose; see governance/management/demo_tier_answers.py),
a risk that exists (same project and title) is left alone, and the overdue rule opens no second finding for a risk.

Everything goes through the services, so the demo's audit trail reads like real use. The overdue
risks need to have been registered months ago; for them the services' clock (`governance.risks.services._today`)
is set back while they are created.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from governance.management.demo_incidents import seed_incidents
from governance.management.demo_lineage import seed_lineage
from governance.management.demo_tier_answers import demo_tier_answers
from governance.models import (
    Classification,
    Dataset,
    Finding,
    Obligation,
    Risk,
    RiskStatus,
    RiskTierAssessment,
    SignOffRequest,
    SignOffStatus,
)
from governance.risks import assessments, scoring, services
from governance.signoff import policies
from governance.signoff import services as signoff_services
from projects.models import AIProject, ModelVersion, Registry, Stage
from projects.registries.adapters.base import RegistryError
from projects.registries.sync import registry_sync

User = get_user_model()
RISK_OFFICER = "risk"  # seed_demo's risk officer persona
COMPLIANCE_OFFICER = "dpo"  # seed_demo's compliance officer / DPO persona
# Who fills each reviewer role a policy can ask for, among seed_demo's personas.
PERSONAS = {policies.RISK_OFFICER: RISK_OFFICER, policies.COMPLIANCE_OFFICER: COMPLIANCE_OFFICER}
DEMO_REGISTRY = "Local MLflow (demo)"  # seed_demo's registry connection to the demo MLflow server


@dataclass(frozen=True)
class S:
    """A demo sign-off: the version (model, version) of the demo registry, why, and who approves it
    (usernames; none: it waits in the queue). The requester is the project's owner, its team lead."""

    model: str
    version: str
    justification: str
    approvers: tuple[str, ...] = ()
    comment: str = ""


def approvers_for(policy: policies.DefaultPolicy) -> tuple[str, ...]:
    """The personas who fill every role a tier's default policy asks for, in the policy's order."""
    return tuple(PERSONAS[role] for role in policy.required_roles)


SIGNOFFS = [
    S("credit-scorecard", "3", "Quarterly retrain; disparate-impact ratio 0.91, back-test within tolerance.",
      approvers=approvers_for(policies.HIGH), comment="Evidence complete; re-certify after the Q3 retrain."),
    S("claims-fraud-scorer", "4", "Challenger beats the champion by 3 points of recall at the same precision."),
    # High tier: the risk officer approved, so it waits in the DPO's queue (the second approver).
    S("credit-scorecard", "4", "Challenger with monotonic income bands; back-test within tolerance.",
      approvers=(RISK_OFFICER,), comment="Model evidence fine; the DPO still has to check the new data source."),
]  # fmt: skip


@dataclass(frozen=True)
class M:
    """A mitigation: action, due in so many days (negative: past), status."""

    action: str
    due_in: int | None
    status: str = "planned"


@dataclass(frozen=True)
class R:
    """A demo risk: inherent and residual (likelihood, impact), status, mitigations, and days overdue."""

    title: str
    category: str
    inherent: tuple[int, int]
    residual: tuple[int, int]
    status: str = RiskStatus.OPEN
    mitigations: tuple[M, ...] = field(default_factory=tuple)
    overdue_by: int | None = None
    why: str = ""  # the acceptance or closing justification


RISKS: dict[str, list[R]] = {
    "Claims fraud scoring": [
        R("Investigators over-flag claims from some postcodes", "fairness", (4, 4), (3, 3), "mitigating", (
            M("Monthly disparity report by postcode", 14, "in_progress"),
            M("Drop postcode from the features and retrain", 45),
        )),
        R("Fraud score drifts after the new claims form", "robustness", (4, 3), (2, 3), overdue_by=12),
        R("Claimants are not told a model scored their claim", "transparency", (3, 3), (2, 2), "accepted",
          why="The score is advisory; an investigator decides and the claimant can appeal."),
    ],
    "Claims triage assistant": [
        R("Urgent injury claims routed to the slow queue", "operational", (3, 5), (3, 4), overdue_by=20,
          mitigations=(M("Keyword override for injury terms", 21),)),
        R("Free-text notes contain health data", "privacy", (4, 3), (2, 3), "mitigating",
          (M("Redact health terms before inference", -5, "in_progress"),)),
    ],
    "Support chatbot": [
        R("Chatbot gives wrong answers about policy cover", "robustness", (4, 4), (4, 3), "mitigating",
          (M("Answer only from the policy knowledge base", 20, "in_progress"),), overdue_by=6),
        R("Customers are not told they are talking to an AI", "legal", (3, 4), (1, 4), "closed",
          (M("Disclosure banner in the chat window", -30, "done"),), why="Disclosure banner shipped."),
        R("Prompt injection exposes other customers' data", "security", (3, 5), (2, 5),
          mitigations=(M("Red-team the prompt guard", 30), M("No customer data in the model context", 60))),
        R("Screenshots of bad answers go viral", "reputational", (3, 3), (3, 3)),
    ],
    "Call summarisation": [
        R("Summaries omit complaints the caller raised", "robustness", (3, 3), (2, 3), "mitigating",
          (M("Complaint checklist in the prompt", 10, "in_progress"),)),
        R("Recordings kept longer than the retention policy", "privacy", (2, 4), (1, 4), "accepted",
          why="Deletion job verified; the residual risk is a late manual export."),
    ],
    "Complaint classifier": [
        R("Regulatory complaints tagged as general feedback", "legal", (3, 4), (2, 4),
          mitigations=(M("Weekly sample reviewed by compliance", 7),)),
        R("Classifier is worse on non-native English", "fairness", (3, 3), (3, 3)),
    ],
    "Churn prediction": [
        R("Retention offers favour high-income customers", "fairness", (3, 3), (2, 3), "mitigating",
          (M("Offer budget per customer segment", 15, "in_progress"),)),
        R("Model uses data without a marketing consent", "privacy", (3, 4), (2, 4), overdue_by=3),
    ],
    "Dynamic pricing": [
        R("Renewal premiums rise for loyal customers (price walking)", "legal", (4, 5), (4, 4), overdue_by=30,
          mitigations=(M("Cap renewals at the new-business price", 10),)),
        R("Pricing cannot be explained to the regulator", "transparency", (4, 3), (3, 3), "mitigating",
          (M("SHAP explanations in the pricing file", 30, "in_progress"),)),
        R("Feedback loop amplifies pricing errors", "robustness", (3, 4), (2, 4)),
    ],
    "Demand forecasting": [
        R("Forecast fails on promotions and holidays", "robustness", (4, 2), (3, 2), "accepted",
          why="Planners override promotion weeks by hand."),
        R("Stock-outs during supplier outages", "operational", (3, 3), (2, 3)),
    ],
    "Invoice extraction": [
        R("Wrong bank details extracted (invoice fraud)", "security", (3, 5), (2, 4),
          mitigations=(M("Four-eyes check on changed bank details", -10, "done"),)),
        R("Supplier personal data in invoices", "privacy", (2, 3), (2, 2), "closed",
          why="Only company suppliers remain; sole traders moved to a manual process."),
    ],
    "Route optimisation": [
        R("Routes ignore engineers' legal rest times", "legal", (3, 4), (2, 3), "mitigating",
          (M("Rest-time constraint in the optimiser", 25, "in_progress"),)),
        R("No routes in the morning if the optimiser is down", "operational", (2, 4), (2, 3)),
    ],
    "Credit scoring": [
        R("Indirect discrimination through age and gender proxies", "fairness", (4, 5), (3, 5), "accepted", (
            M("Quarterly disparate-impact test", -20, "done"),
            M("Human review of every decline", -60, "done"),
        ), why="Disparate-impact ratio within 0.8–1.25 in the last two quarters; every decline is reviewed by a "
               "credit officer; the retrained model is due in Q3."),
        R("Applicants cannot get an explanation of a decline", "transparency", (4, 4), (3, 4), overdue_by=45,
          mitigations=(M("Reason codes in the decline letter", 40),)),
        R("Model degrades as interest rates rise", "robustness", (4, 5), (4, 5), "mitigating", (
            M("Monthly back-test against realised defaults", 7, "in_progress"),
            M("Challenger model with macro features", 60),
        ), overdue_by=2),
        R("Training data kept beyond its legal basis", "privacy", (3, 4), (2, 4)),
        R("Fine for missing Annex IV technical documentation", "legal", (3, 5), (2, 5),
          mitigations=(M("Write the Annex IV technical documentation", 90),)),
    ],
    "Anti-money-laundering alerts": [
        R("Real laundering patterns ranked too low", "robustness", (3, 5), (3, 4), "mitigating",
          (M("Analyst feedback into weekly retraining", 12, "in_progress"),), overdue_by=8),
        R("Analysts over-trust the ranking", "operational", (3, 3), (2, 3)),
        R("Bad press if a sanctioned customer slips through", "reputational", (2, 5), (2, 4)),
    ],
}  # fmt: skip


@contextlib.contextmanager
def services_on(day: dt.date | None):
    """Run the governance services as if today were `day` (None: the real today)."""
    if day is None:
        yield
        return
    with mock.patch.object(services, "_today", return_value=day):
        yield


class Command(BaseCommand):
    help = "Load demo tier assessments, risk registers and findings (embedded mode only; after seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow outside the embedded/debug mode")

    def handle(self, *args, force: bool, **options):
        if not (settings.EMBEDDED or settings.DEBUG or force):
            raise CommandError("seed_demo_governance writes made-up risks; run it only in the embedded mode.")
        officer = User.objects.filter(username=RISK_OFFICER).first()
        if officer is None or not AIProject.objects.filter(name__in=RISKS).exists():
            raise CommandError("No demo projects or users yet: run `manage.py seed_demo` first.")
        with transaction.atomic():
            assessed = self.seed_tiers(officer)
            created = self.seed_risks(officer)
        counts = services.risk_reviews_mark_overdue()
        incidents = seed_incidents(officer)
        signoffs = self.seed_signoffs()
        self.stdout.write(
            f"Demo governance: {RiskTierAssessment.objects.count()} tier assessments ({assessed} now), "
            f"{Risk.objects.count()} risks ({created} now), {counts['marked']} reviews newly overdue, "
            f"{Finding.objects.filter(resolved_at=None).count()} open findings, {incidents} incidents now."
        )
        if signoffs is None:
            self.stdout.write(
                "Demo sign-offs: left out, the demo registry's model versions are not in Keel (run this command "
                "again after the demo MLflow registry has synced)."
            )
        else:
            pending = SignOffRequest.objects.filter(status=SignOffStatus.PENDING).count()
            approved = SignOffRequest.objects.filter(status=SignOffStatus.APPROVED).count()
            self.stdout.write(f"Demo sign-offs: {pending} pending, {approved} approved ({signoffs} now).")
        # After the sign-offs: they sync the demo registry if need be, so the model version the pipeline
        # trains exists and ingest links it at once.
        self.report_lineage(seed_lineage(COMPLIANCE_OFFICER))

    def report_lineage(self, done: dict) -> None:
        labels = Classification.objects.count()
        unmet = Obligation.objects.filter(status="unmet").count()
        self.stdout.write(
            f"Demo lineage: {Dataset.objects.count()} datasets, {labels} PII labels, {unmet} unmet obligations "
            f"({done['events']} events ingested now)."
        )
        if not done["linked"]:
            self.stdout.write(
                "Demo lineage: the training run names models:/credit-scorecard/3, which is not in Keel yet; it is "
                "linked when the demo registry syncs that version."
            )

    def seed_tiers(self, officer) -> int:
        """Assess every demo project from its deliberate answers (governance/management/demo_tier_answers.py),
        except the one left unassessed on purpose. A project already assessed keeps its tier; one that is
        not assessed (e.g. a demo made before unanswered stopped meaning "no") is assessed now."""
        assessed = 0
        for project in AIProject.objects.filter(risk_tier="").order_by("name"):
            answers = demo_tier_answers(project.name)
            if answers is None:
                continue
            assessments.tier_assessment_submit(by=officer, project=project, answers=answers)
            assessed += 1
        return assessed

    def seed_risks(self, officer) -> int:
        projects = AIProject.objects.select_related("owner").filter(
            name__in=RISKS, stage__in=[Stage.VALIDATION, Stage.PRODUCTION]
        )
        today = timezone.localdate()
        created = 0
        for project in projects.order_by("name"):
            existing = set(Risk.objects.filter(project=project).values_list("title", flat=True))
            lead = project.owner
            for spec in RISKS[project.name]:
                if spec.title in existing:
                    continue
                registered = None
                if spec.overdue_by is not None:
                    cadence = scoring.band_for(scoring.score(*spec.residual)).review_days
                    registered = today - dt.timedelta(days=cadence + spec.overdue_by)
                with services_on(registered):
                    risk = services.risk_create(
                        by=lead,
                        project=project,
                        title=spec.title,
                        category=spec.category,
                        likelihood=spec.inherent[0],
                        impact=spec.inherent[1],
                        residual_likelihood=spec.residual[0],
                        residual_impact=spec.residual[1],
                    )
                for m in spec.mitigations:
                    due = None if m.due_in is None else today + dt.timedelta(days=m.due_in)
                    services.mitigation_create(by=lead, risk=risk, action=m.action, due_date=due, status=m.status)
                if spec.status != RiskStatus.OPEN:
                    # Only a risk officer accepts a high or critical residual risk.
                    needs_officer = risk.residual_level in scoring.ACCEPTANCE_NEEDS_RISK_OFFICER
                    by = officer if spec.status == RiskStatus.ACCEPTED and needs_officer else lead
                    # An acceptance holds for a year (a high or critical one must say until when).
                    until = today + dt.timedelta(days=365) if spec.status == RiskStatus.ACCEPTED else None
                    services.risk_transition(
                        by=by, risk=risk, status=spec.status, justification=spec.why, accept_until=until
                    )
                created += 1
        return created

    def demo_versions(self) -> dict[tuple[str, str], ModelVersion] | None:
        """The demo registry's versions, syncing it here first if it never was; None without them."""
        registry = Registry.objects.filter(name=DEMO_REGISTRY).first()
        if registry is None:
            return None
        versions = ModelVersion.objects.filter(registered_model__registry=registry, deleted_at__isnull=True)
        if not versions.exists() and registry.enabled:
            try:
                registry_sync(registry=registry)
            except RegistryError as exc:
                self.stderr.write(f"Could not sync {registry.name} for the demo sign-offs: {exc.message}")
                return None
        found = {
            (v.registered_model.name, v.version): v
            for v in versions.select_related("registered_model").filter(
                registered_model__name__in=[spec.model for spec in SIGNOFFS]
            )
        }
        return found or None

    def seed_signoffs(self) -> int | None:
        """Through the services, as people would: the owner asks, the reviewers approve. A version that
        already has a request of any status is left alone. None when the demo versions are missing."""
        versions = self.demo_versions()
        if versions is None:
            return None
        people = {u.username: u for u in User.objects.filter(username__in=[RISK_OFFICER, COMPLIANCE_OFFICER])}
        seeded = 0
        for spec in SIGNOFFS:
            version = versions.get((spec.model, spec.version))
            if version is None or SignOffRequest.objects.filter(model_version=version).exists():
                continue
            if any(name not in people for name in spec.approvers):
                continue  # an older seed_demo without the compliance officer: run seed_demo again
            project = version.registered_model.project
            if project is None:
                continue
            with transaction.atomic():
                request = signoff_services.signoff_request(
                    by=project.owner, version=version, justification=spec.justification
                )
                for name in spec.approvers:
                    signoff_services.signoff_decide(
                        by=people[name], request=request, verdict="approve", comment=spec.comment
                    )
            seeded += 1
        return seeded
