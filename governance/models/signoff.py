"""Sign-off before deployment: who must approve per tier (policies), requests bound to one model
version and a fingerprint of what was reviewed, and each reviewer's decision.

Separation of duties holds in three layers: the service refuses (governance/signoff/eligibility.py), the
constraints below refuse a decision row that breaks it, and a trigger (governance/audit/triggers.py)
checks a decision against its request — the requester and the version's author never decide, and a
request that is no longer pending takes no decision.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.roles import Role
from projects.models import RiskTier

# The roles that can be asked to review; executives, team leads and admins are not reviewers.
REVIEWER_ROLES = (Role.RISK_OFFICER, Role.COMPLIANCE)
REVIEWER_ROLE_CHOICES = [(r.value, r.label) for r in REVIEWER_ROLES]  # one enum in the API schema
# A policy's bounds, for the page and the API alike: an approval's expiry (now + recertify_days) must stay a
# date Keel can hold and show (an unbounded API value overflowed it: a 500 at the first approval).
MAX_APPROVERS = 10
MAX_RECERTIFY_DAYS = 3650


class SignOffPolicy(models.Model):
    """What a sign-off needs for one tier. A published version never changes: editing publishes the
    next version, and a request keeps the version it was made under."""

    tier = models.CharField(max_length=20, choices=RiskTier.choices)
    version = models.PositiveIntegerField()
    # Each named role must be filled by a different person.
    required_roles = models.JSONField(help_text='Reviewer roles that must each approve, e.g. ["Risk Officer"].')
    min_approvers = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_APPROVERS)],
        help_text="Distinct people who must approve.",
    )
    recertify_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RECERTIFY_DAYS)],
        help_text="An approval expires after this many days (blank: it does not expire).",
    )
    approvable = models.BooleanField(default=True, help_text="False for a tier that can never be approved.")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tier", "-version"]
        verbose_name = "sign-off policy"
        verbose_name_plural = "sign-off policies"
        constraints = [
            models.UniqueConstraint(fields=["tier", "version"], name="signoffpolicy_unique_version"),
            models.CheckConstraint(condition=models.Q(min_approvers__gte=1), name="signoffpolicy_min_approvers"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} policy v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_publishing", False):
            raise ValidationError("A published sign-off policy never changes; publish a new version instead.")
        super().save(*args, **kwargs)


class MetricDirection(models.TextChoices):
    HIGHER = "higher", "Higher is better (≥)"
    LOWER = "lower", "Lower is better (≤)"


class MetricRequirement(models.Model):
    """A metric a version must reach under a policy, e.g. auc ≥ 0.75 (governance/signoff/thresholds.py).
    Published with its policy version and never changed: a new threshold publishes the next version."""

    policy = models.ForeignKey(SignOffPolicy, on_delete=models.CASCADE, related_name="metric_requirements")
    metric = models.CharField(max_length=250, help_text="The metric's name in the registry, e.g. auc.")
    direction = models.CharField(max_length=10, choices=MetricDirection.choices)
    threshold = models.FloatField()
    dataset_name = models.CharField(
        max_length=250,
        blank=True,
        help_text="Only the value measured on this dataset (blank: every value must meet it).",
    )

    class Meta:
        ordering = ["policy_id", "metric", "dataset_name"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "metric", "dataset_name"], name="metricrequirement_once"),
            models.CheckConstraint(condition=models.Q(direction__in=["higher", "lower"]), name="metricrequirement_dir"),
        ]

    def __str__(self) -> str:
        sign = "≥" if self.direction == MetricDirection.HIGHER else "≤"
        on = f" on {self.dataset_name}" if self.dataset_name else ""
        return f"{self.metric}{on} {sign} {self.threshold:g}"


class SignOffStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    INVALIDATED = "invalidated", "Invalidated"
    EXPIRED = "expired", "Expired"


SIGNOFF_TRANSITIONS: dict[str, set[str]] = {
    SignOffStatus.PENDING: {SignOffStatus.APPROVED, SignOffStatus.REJECTED, SignOffStatus.WITHDRAWN,
                            SignOffStatus.INVALIDATED},
    SignOffStatus.APPROVED: {SignOffStatus.INVALIDATED, SignOffStatus.EXPIRED},
    SignOffStatus.REJECTED: set(),
    SignOffStatus.WITHDRAWN: set(),
    SignOffStatus.INVALIDATED: set(),
    SignOffStatus.EXPIRED: set(),
}  # fmt: skip


class SignOffRequest(models.Model):
    """A request to approve one model version of a project for production, as it stood when asked."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="signoff_requests")
    # PROTECT: an approval's subject must not vanish under it (a registry that stops listing a
    # version marks it deleted, it is not removed).
    model_version = models.ForeignKey("projects.ModelVersion", on_delete=models.PROTECT, related_name="signoffs")
    policy = models.ForeignKey(SignOffPolicy, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The Keel user who created the version in the registry, when the registry's name matches one.
    version_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The registry named no author (neither the version nor its run): nobody can be excluded as the
    # author, so the request needs one more distinct approver than its policy asks.
    author_unknown = models.BooleanField(default=False)
    justification = models.TextField(blank=True, help_text="Why this version should go to production.")
    fingerprint = models.JSONField(help_text="What was reviewed: version, digest, tier answers, open risks, policy.")
    fingerprint_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=SignOffStatus.choices, default=SignOffStatus.PENDING)
    status_reason = models.TextField(blank=True, help_text="Why it was invalidated, expired or withdrawn.")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it was approved or rejected.")
    valid_until = models.DateTimeField(null=True, blank=True, help_text="When the approval needs re-certifying.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was withdrawn, invalidated or expired.")
    # Set while the version misses a metric requirement of its tier's current policy (thresholds.py): the
    # request stays open but is flagged for re-review, and the gate denies meanwhile.
    metrics_flag = models.TextField(blank=True, help_text="The metric requirements the version does not meet.")
    metrics_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "sign-off request"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SignOffStatus.values), name="signoff_status_valid"),
            # One open request per version: a second would split the reviewers' attention and the
            # gate's answer. A new request is possible once the last one is closed.
            models.UniqueConstraint(
                fields=["model_version"],
                condition=models.Q(status="pending"),
                name="signoff_one_pending_per_version",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "requested_at"]),
            models.Index(fields=["model_version", "status"]),
            models.Index(fields=["project", "-requested_at"]),
        ]

    def __str__(self) -> str:
        return f"Sign-off #{self.pk} for {self.fingerprint.get('model')} v{self.fingerprint.get('version')}"

    @property
    def is_pending(self) -> bool:
        return self.status == SignOffStatus.PENDING


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class SignOffDecision(models.Model):
    """One reviewer's decision on a request, in one of the roles the policy asks for.

    `requested_by` and `version_author` are copied from the request so that the database itself can
    refuse self-approval with a check constraint; a trigger checks the copies against the request.
    """

    request = models.ForeignKey(SignOffRequest, on_delete=models.CASCADE, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=40, choices=REVIEWER_ROLE_CHOICES)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = "sign-off decision"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("requested_by")), name="signoffdecision_not_requester"
            ),
            models.CheckConstraint(
                condition=models.Q(version_author__isnull=True) | ~models.Q(reviewer=models.F("version_author")),
                name="signoffdecision_not_author",
            ),
            # One person approves (or rejects) a request once. That each required role is approved once is
            # the service's rule, under the request's row lock: an extra approver (eligibility.py) may
            # approve in a role someone already filled.
            models.UniqueConstraint(
                fields=["request", "reviewer"],
                condition=models.Q(verdict__in=["approve", "reject"]),
                name="signoffdecision_one_verdict_per_reviewer",
            ),
            models.CheckConstraint(condition=models.Q(verdict__in=Verdict.values), name="signoffdecision_verdict"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.verdict} #{self.request_id} as {self.role}"
