"""The risk register and the EU AI Act tier assessment of each project."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.dates import validate_date
from projects.models import RiskTier

from ..risks.scoring import Level, level, score
from ..risks.tier_questions import flag_meaning

_scale = [MinValueValidator(1), MaxValueValidator(5)]


class RiskTierAssessment(models.Model):
    """One answered EU AI Act questionnaire for a project; the newest version is the project's tier."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="tier_assessments")
    version = models.PositiveIntegerField()
    answers = models.JSONField()
    answers_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical answers, for fingerprints.")
    # "" = not assessed: a version whose questionnaire is incomplete (`unanswered` names the questions).
    tier = models.CharField(max_length=20, choices=RiskTier.choices, blank=True)
    unanswered = models.JSONField(
        default=list, blank=True, help_text="Relevant questions never answered; non-empty means not assessed."
    )
    route = models.CharField(max_length=100, blank=True, help_text="The article or annex point that set the tier.")
    flags = models.JSONField(default=list, blank=True)
    explanation = models.JSONField(default=list, help_text="Which answers led to the tier, in order.")
    # None when Keel itself assessed (e.g. a re-assessment by a rule); people are always recorded.
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="tierassessment_unique_version")]

    def __str__(self) -> str:
        return f"{self.project} v{self.version}: {self.tier or 'not assessed'}"

    @property
    def flag_meanings(self) -> list[tuple[str, str]]:
        """(code, meaning in words) of each flag: the page shows the meaning, the code stays for the API."""
        return [(flag, flag_meaning(flag)) for flag in self.flags]


class RiskCategory(models.TextChoices):
    FAIRNESS = "fairness", "Fairness / bias"
    PRIVACY = "privacy", "Privacy"
    SECURITY = "security", "Security"
    ROBUSTNESS = "robustness", "Robustness / accuracy"
    TRANSPARENCY = "transparency", "Transparency / explainability"
    LEGAL = "legal", "Legal / regulatory"
    OPERATIONAL = "operational", "Operational"
    REPUTATIONAL = "reputational", "Reputational"


# Each category's NIST AI RMF functions (GOVERN, MAP, MEASURE, MANAGE), after the crosswalk in
# shared/reference/regulation.md §10: indicative product defaults, not an official NIST mapping.
NIST_FUNCTIONS: dict[str, tuple[str, ...]] = {
    RiskCategory.FAIRNESS: ("GOVERN", "MAP", "MEASURE", "MANAGE"),
    RiskCategory.PRIVACY: ("GOVERN", "MAP", "MEASURE"),
    RiskCategory.SECURITY: ("GOVERN", "MAP", "MEASURE", "MANAGE"),
    RiskCategory.ROBUSTNESS: ("MAP", "MEASURE", "MANAGE"),
    RiskCategory.TRANSPARENCY: ("GOVERN", "MAP", "MEASURE"),
    RiskCategory.LEGAL: ("GOVERN", "MAP"),
    RiskCategory.OPERATIONAL: ("GOVERN", "MAP", "MEASURE", "MANAGE"),
    RiskCategory.REPUTATIONAL: ("GOVERN", "MAP", "MEASURE", "MANAGE"),
}


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Mitigating"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


# Accepted and closed risks can be reopened when the facts change; nothing skips the guard.
RISK_TRANSITIONS: dict[str, frozenset[str]] = {
    RiskStatus.OPEN: frozenset({RiskStatus.MITIGATING, RiskStatus.ACCEPTED, RiskStatus.CLOSED}),
    RiskStatus.MITIGATING: frozenset({RiskStatus.OPEN, RiskStatus.ACCEPTED, RiskStatus.CLOSED}),
    RiskStatus.ACCEPTED: frozenset({RiskStatus.MITIGATING, RiskStatus.CLOSED}),
    RiskStatus.CLOSED: frozenset({RiskStatus.OPEN}),
}


class Risk(models.Model):
    """A risk of one AI project: inherent and residual likelihood × impact, owner, status, review date."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=RiskCategory.choices)
    likelihood = models.PositiveSmallIntegerField(validators=_scale, help_text="Inherent likelihood, 1–5.")
    impact = models.PositiveSmallIntegerField(validators=_scale, help_text="Inherent impact, 1–5.")
    residual_likelihood = models.PositiveSmallIntegerField(validators=_scale, help_text="After mitigation, 1–5.")
    residual_impact = models.PositiveSmallIntegerField(validators=_scale, help_text="After mitigation, 1–5.")
    residual_justification = models.TextField(
        blank=True, help_text="Required when the residual score is above the inherent one."
    )
    # Denormalised from the scores (always set by the services) so lists filter and sort in the database.
    inherent_score = models.PositiveSmallIntegerField(editable=False)
    residual_score = models.PositiveSmallIntegerField(editable=False)
    residual_level = models.CharField(max_length=10, choices=Level.choices, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_risks")
    status = models.CharField(max_length=20, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    acceptance_justification = models.TextField(blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    # The last day the acceptance holds; after it the risk's acceptance has expired (a finding opens) until
    # it is accepted again or moves on. Required when a high or critical residual risk is accepted.
    acceptance_expires_on = models.DateField(null=True, blank=True, validators=[validate_date])
    next_review_date = models.DateField()
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_overdue = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-residual_score", "title", "id"]
        indexes = [
            models.Index(fields=["project", "status"]),
            models.Index(fields=["likelihood", "impact"]),
            models.Index(fields=["residual_likelihood", "residual_impact"]),
            models.Index(fields=["next_review_date"]),
            # The register's order: a page of it is an index walk, not a sort of every risk with its joins.
            models.Index(fields=["-residual_score", "title", "id"], name="risk_register_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5)
                & models.Q(residual_likelihood__gte=1, residual_likelihood__lte=5)
                & models.Q(residual_impact__gte=1, residual_impact__lte=5),
                name="risk_scores_in_scale",
            ),
            models.CheckConstraint(condition=models.Q(status__in=RiskStatus.values), name="risk_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def compute_scores(self) -> None:
        self.inherent_score = score(self.likelihood, self.impact)
        self.residual_score = score(self.residual_likelihood, self.residual_impact)
        self.residual_level = level(self.residual_likelihood, self.residual_impact)

    @property
    def inherent_level(self) -> str:
        return level(self.likelihood, self.impact)

    @property
    def acceptance_expired(self) -> bool:
        """Accepted until a day that has passed (checked against today, so it shows before the nightly rule)."""
        return (
            self.status == RiskStatus.ACCEPTED
            and self.acceptance_expires_on is not None
            and self.acceptance_expires_on < timezone.localdate()
        )

    @property
    def nist_functions(self) -> tuple[str, ...]:
        return NIST_FUNCTIONS[self.category]


class MitigationStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Mitigation(models.Model):
    """An action that lowers a risk: who does it, by when, and where it stands."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="mitigations")
    action = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(null=True, blank=True, validators=[validate_date])
    status = models.CharField(max_length=20, choices=MitigationStatus.choices, default=MitigationStatus.PLANNED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.action
