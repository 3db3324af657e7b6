"""A lineage dataset that names a registry model version Keel cannot link yet (governance/lineage/model_links.py).

Producers emit lineage when a training job ends, usually before the registry sync has seen the new
version. The reference is remembered here (one row per dataset) and retried when a sync brings versions
or a registered model is linked to a project; a row still open past KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES
opens a finding.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PendingOutcome(models.TextChoices):
    OPEN = "", "Waiting for the version"
    LINKED = "linked", "Linked"
    REFUSED = "refused", "Refused (the poster may not link that version)"
    MANUAL = "manual", "Linked by hand"
    WITHDRAWN = "withdrawn", "No longer names a model version"


class PendingModelLink(models.Model):
    dataset = models.OneToOneField("governance.Dataset", on_delete=models.CASCADE, related_name="pending_model_link")
    # What the dataset names (keelModelVersion facet, or a models:/<model>/<version> name).
    model_name = models.CharField(max_length=500)
    version = models.CharField(max_length=200)
    registry_name = models.CharField(max_length=200, blank=True, help_text="From the keelModelVersion facet.")
    # Who posted the reference: the link is made with their rights. requested_by_name keeps the username
    # so a deleted account is told apart from Keel itself (both have no requested_by).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it is not linked yet.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=PendingOutcome.choices, blank=True, default=PendingOutcome.OPEN)

    class Meta:
        indexes = [
            models.Index(fields=["resolved_at", "model_name"]),
            models.Index(fields=["resolved_at", "first_seen_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} v{self.version} named by dataset #{self.dataset_id}"

    @property
    def reference_label(self) -> str:
        where = f" in registry {self.registry_name}" if self.registry_name else ""
        return f"{self.model_name} version {self.version}{where}"
