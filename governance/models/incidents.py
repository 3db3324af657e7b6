"""The incident register: what went wrong with an AI system in use, what was done, and — for a serious
incident under the EU AI Act (Art. 3(49), Art. 73) — by when it must be reported to the authority.

The reporting period is decided by governance/incidents/reporting.py (the rules are data there) and
copied onto the incident when its seriousness is set, with the rule it came from: a later change of
the rules never silently moves the deadline of an incident already recorded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .findings import Severity


class Seriousness(models.TextChoices):
    """Art. 3(49)'s kinds of serious incident, split where Art. 73 gives them different periods. "Not
    assessed" is its own answer: an incident nobody has assessed yet is not taken as "not serious"."""

    NOT_ASSESSED = "not_assessed", "Not assessed yet"
    NOT_SERIOUS = "not_serious", "Not a serious incident"
    DEATH = "death", "Serious: a person's death (Art. 3(49)(a))"
    HEALTH = "health", "Serious: serious harm to a person's health (Art. 3(49)(a))"
    CRITICAL_INFRASTRUCTURE = (
        "critical_infrastructure",
        "Serious: serious and irreversible disruption of critical infrastructure (Art. 3(49)(b))",
    )
    WIDESPREAD_INFRINGEMENT = "widespread_infringement", "Serious: a widespread infringement (Art. 73(3))"
    FUNDAMENTAL_RIGHTS = (
        "fundamental_rights",
        "Serious: infringement of obligations protecting fundamental rights (Art. 3(49)(c))",
    )
    PROPERTY_ENVIRONMENT = (
        "property_environment",
        "Serious: serious harm to property or the environment (Art. 3(49)(d))",
    )


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Incident(models.Model):
    title = models.CharField(max_length=300)
    description = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    seriousness = models.CharField(max_length=30, choices=Seriousness.choices, default=Seriousness.NOT_ASSESSED)
    status = models.CharField(max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    projects = models.ManyToManyField("projects.AIProject", related_name="incidents")
    model_versions = models.ManyToManyField("projects.ModelVersion", related_name="incidents", blank=True)
    # Where it came from, when it was opened from a finding.
    finding = models.ForeignKey(
        "governance.Finding", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    # The reporting clock starts when the organisation became aware of the incident (Art. 73(2)).
    aware_at = models.DateTimeField()
    # Copied from the rule that applied when the seriousness was last set (reporting.py); empty when no
    # report is due (not serious). A not-assessed incident gets the shortest period, marked provisional.
    report_due_at = models.DateTimeField(null=True, blank=True)
    report_rule = models.CharField(max_length=300, blank=True)
    report_provisional = models.BooleanField(default=False)
    reported_at = models.DateTimeField(null=True, blank=True, help_text="When it was reported to the authority.")
    report_reference = models.CharField(max_length=200, blank=True, help_text="The authority's reference.")
    root_cause = models.TextField(blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="incidents_opened"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "seriousness"]), models.Index(fields=["status", "report_due_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN

    @property
    def is_serious(self) -> bool:
        return self.seriousness not in (Seriousness.NOT_ASSESSED, Seriousness.NOT_SERIOUS)

    @property
    def report_outstanding(self) -> bool:
        """A report is due (or may be: not assessed) and none has been made."""
        return self.report_due_at is not None and self.reported_at is None

    @property
    def report_overdue(self) -> bool:
        return self.report_outstanding and self.report_due_at < timezone.now()


class IncidentNote(models.Model):
    """One entry of the incident's timeline, written by a person (the audit trail keeps the changes)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class CorrectiveAction(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="corrective_actions")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["done_at", "due_on", "id"]

    def __str__(self) -> str:
        return self.description

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_on < timezone.localdate()
