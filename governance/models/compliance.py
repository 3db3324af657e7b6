"""PII classifications with their provenance, and the obligations (with evidence) that follow from them.

A classification is either asserted (by a person, or by a producer's `tags` facet) — a *root* — or
derived from one by propagation along lineage. Derived rows are keyed by their root, so removing a
root removes exactly what derived from it (the foreign key cascades), and recomputing a root
replaces only its own rows (governance/compliance/propagation.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils import timezone

from ..compliance import taxonomy


class Origin(models.TextChoices):
    MANUAL = "manual", "Asserted by a person"
    PRODUCER = "producer", "Asserted by the producer (tags facet)"
    DERIVED = "derived", "Derived along lineage"


class Treatment(models.TextChoices):
    PLAIN = "plain", "Plain"
    PSEUDONYMISED = "pseudonymised", "Pseudonymised (masked)"
    AGGREGATED = "aggregated", "Aggregated"
    PROCESSED = "processed", "Processed (used by the job, not stored in a column)"


class Classification(models.Model):
    """One PII kind on a field (or a whole dataset): asserted, or derived from an assertion by a path."""

    dataset = models.ForeignKey("governance.Dataset", on_delete=models.CASCADE, related_name="classifications")
    field = models.ForeignKey(
        "governance.DatasetField", on_delete=models.CASCADE, null=True, blank=True, related_name="classifications"
    )
    pii_kind = models.CharField(max_length=40, choices=taxonomy.CHOICES)
    gdpr_class = models.CharField(max_length=10, choices=taxonomy.GdprClass.choices)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    asserted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The root assertion this row derives from (null for a root).
    derived_from = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="derived")
    path = models.JSONField(default=list, blank=True, help_text="The hops from the root to here, root first.")
    hops = models.PositiveIntegerField(default=0)
    treatment = models.CharField(max_length=15, choices=Treatment.choices, default=Treatment.PLAIN)
    verified = models.BooleanField(
        default=True, help_text="False when a hop had no column lineage (the label was carried dataset-wide)."
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dataset_id", "field_id", "pii_kind", "hops", "id"]
        constraints = [
            # A root reaches a place once (one row per root + target; a root has one kind).
            models.UniqueConstraint(
                fields=["derived_from", "dataset", "field"],
                condition=models.Q(derived_from__isnull=False, field__isnull=False),
                name="classification_derived_once_per_field",
            ),
            models.UniqueConstraint(
                fields=["derived_from", "dataset"],
                condition=models.Q(derived_from__isnull=False, field__isnull=True),
                name="classification_derived_once_per_dataset",
            ),
            # An assertion is made once per place, kind and origin.
            models.UniqueConstraint(
                fields=["dataset", "field", "pii_kind", "origin"],
                condition=models.Q(derived_from__isnull=True, field__isnull=False),
                name="classification_root_once_per_field",
            ),
            models.UniqueConstraint(
                fields=["dataset", "pii_kind", "origin"],
                condition=models.Q(derived_from__isnull=True, field__isnull=True),
                name="classification_root_once_per_dataset",
            ),
            models.CheckConstraint(
                condition=(models.Q(origin="derived") & models.Q(derived_from__isnull=False))
                | (models.Q(origin__in=["manual", "producer"]) & models.Q(derived_from__isnull=True)),
                name="classification_derived_has_root",
            ),
            models.CheckConstraint(
                condition=models.Q(treatment__in=Treatment.values), name="classification_treatment_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["dataset", "pii_kind"]),
            models.Index(fields=["gdpr_class", "pii_kind"]),
            models.Index(fields=["origin"]),
        ]

    def __str__(self) -> str:
        where = f"{self.dataset_id}.{self.field_id}" if self.field_id else str(self.dataset_id)
        return f"{self.pii_kind} at {where} ({self.origin})"

    @property
    def is_root(self) -> bool:
        return self.derived_from_id is None


class ObligationStatus(models.TextChoices):
    UNMET = "unmet", "Unmet"
    MET = "met", "Met"
    STALE = "stale", "Evidence stale"
    NOT_APPLICABLE = "not_applicable", "No longer applies"


class Obligation(models.Model):
    """What a project must show, because of its tier and the PII that reaches its models (rules.py)."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="obligations")
    rule_id = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=ObligationStatus.choices, default=ObligationStatus.UNMET)
    facts = models.JSONField(default=dict, blank=True, help_text="The facts the obligation currently follows from.")
    facts_hash = models.CharField(max_length=64)
    detail = models.TextField(blank=True, help_text="Why it is in its status, in words.")
    first_required_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project_id", "rule_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "rule_id"], name="obligation_one_per_rule"),
            models.CheckConstraint(condition=models.Q(status__in=ObligationStatus.values), name="obligation_status"),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.rule_id} for project {self.project_id}: {self.status}"

    @property
    def is_required(self) -> bool:
        return self.status != ObligationStatus.NOT_APPLICABLE


EVIDENCE_EXTENSIONS = ["pdf", "txt", "md", "csv", "json", "docx", "xlsx", "odt", "ods", "png", "jpg", "jpeg"]


class Evidence(models.Model):
    """A link or a file given for an obligation, against the facts it stood on then."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="evidence")
    link = models.URLField(max_length=1000, blank=True)
    # Stored under MEDIA_ROOT (var/media), never served publicly: a view checks who asks.
    file = models.FileField(
        upload_to="evidence/%Y/%m/", blank=True, validators=[FileExtensionValidator(EVIDENCE_EXTENSIONS)]
    )
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    given_at = models.DateTimeField(default=timezone.now)
    facts_hash = models.CharField(max_length=64, help_text="The obligation's facts hash when this was given.")

    class Meta:
        ordering = ["-given_at", "-id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(condition=~models.Q(link="") | ~models.Q(file=""), name="evidence_link_or_file")
        ]

    def __str__(self) -> str:
        return self.file_name or self.link

    @property
    def is_stale(self) -> bool:
        return self.facts_hash != self.obligation.facts_hash
