"""Findings: something wrong that someone must act on, opened and resolved by rules."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class FindingKind(models.TextChoices):
    RISK_REVIEW_OVERDUE = "risk_review_overdue", "Risk review overdue"
    DEPLOYED_WITHOUT_APPROVAL = "deployed_without_approval", "In production without a valid sign-off"
    SIGNOFF_INVALIDATED = "signoff_invalidated", "Sign-off invalidated"
    SIGNOFF_EXPIRED = "signoff_expired", "Sign-off expired"
    # Opened by the value-decay rule (governance/dashboard/value_decay.py); added here with the sign-off
    # kinds so one migration holds them.
    VALUE_DECAY = "value_decay", "Value below plan"
    # Opened by the compliance obligation rules (governance/compliance/rules.py).
    OBLIGATION_UNMET = "obligation_unmet", "Compliance obligation unmet"
    EVIDENCE_STALE = "evidence_stale", "Compliance evidence stale"
    # A registry model serving production (alias, stage or approval) that no project owns.
    UNOWNED_PRODUCTION_MODEL = "unowned_production_model", "Unowned model in production"
    # A risk accepted until a date that has passed: the acceptance must be reviewed again.
    RISK_ACCEPTANCE_EXPIRED = "risk_acceptance_expired", "Risk acceptance expired"
    # Lineage names a registry model version that no sync brought within the grace period
    # (governance/lineage/model_links.py, KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES).
    MODEL_REFERENCE_UNRESOLVED = "model_reference_unresolved", "Lineage names an unknown model version"
    # Monitoring (governance/monitoring/): a signal outside its plan's bounds, or one that stopped arriving.
    SIGNAL_BREACHED = "signal_breached", "Monitoring signal out of bounds"
    SIGNAL_STALE = "signal_stale", "Monitoring signal stopped arriving"
    # A version under sign-off whose registry metrics breach a threshold of its tier's policy
    # (governance/signoff/thresholds.py).
    METRIC_THRESHOLD_BREACHED = "metric_threshold_breached", "Metric threshold breached"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


def finding_due_at(severity: str, opened_at: dt.datetime) -> dt.datetime:
    """When a finding of this severity, opened then, should be resolved by (KEEL_FINDING_DUE_DAYS).
    An unknown severity gets the longest delay rather than none: it is still due, never "never"."""
    days = settings.KEEL_FINDING_DUE_DAYS
    return opened_at + dt.timedelta(days=days.get(severity, max(days.values())))


class Finding(models.Model):
    """One open problem per (kind, subject); the rule that opened it resolves it when the cause is gone."""

    kind = models.CharField(max_length=40, choices=FindingKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=100)
    project = models.ForeignKey(
        "projects.AIProject", on_delete=models.CASCADE, null=True, blank=True, related_name="findings"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_findings"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    # Set when the finding opens, from its severity (finding_due_at); past it, an open finding is overdue.
    due_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["resolved_at", "-opened_at", "-id"]
        constraints = [
            # However often a rule runs, a cause has at most one open finding.
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id"],
                condition=models.Q(resolved_at__isnull=True),
                name="finding_one_open_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "resolved_at"]),
            models.Index(fields=["project", "resolved_at"]),
            models.Index(fields=["assignee", "resolved_at"]),
            models.Index(fields=["resolved_at", "due_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def is_overdue(self) -> bool:
        return self.resolved_at is None and self.due_at is not None and self.due_at < timezone.now()
