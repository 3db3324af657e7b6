"""Monitoring after deployment: each project's plan (which signals, their thresholds, how often they must
arrive) and the signals measured about its model versions (governance/monitoring/)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SignalKind(models.TextChoices):
    DRIFT = "drift", "Drift"
    DATA_QUALITY = "data_quality", "Data quality"
    PERFORMANCE = "performance", "Performance"
    FAIRNESS = "fairness", "Fairness"
    OTHER = "other", "Other"


class SignalSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (Keel's JSON form)"
    EVIDENTLY = "evidently", "Evidently report"
    OPENLINEAGE = "openlineage", "OpenLineage data-quality facet"
    REGISTRY = "registry", "Registry run metric"


class BreachAction(models.TextChoices):
    """What a breached threshold does to the version's live sign-offs, besides opening a finding."""

    FINDING = "finding", "Open a finding only"
    FLAG = "flag", "Open a finding and flag the sign-off for re-review"
    INVALIDATE = "invalidate", "Open a finding and invalidate the sign-off"


class MonitoringPlanItem(models.Model):
    """One signal a project watches on its deployed versions: its bounds and how often it must arrive."""

    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="monitoring_plan")
    name = models.CharField(max_length=200, help_text="The signal's name exactly as it arrives.")
    kind = models.CharField(max_length=20, choices=SignalKind.choices, default=SignalKind.OTHER)
    # A value below `lower` or above `upper` breaches; either may be left open.
    lower = models.FloatField(null=True, blank=True, help_text="Breached when the value is below this.")
    upper = models.FloatField(null=True, blank=True, help_text="Breached when the value is above this.")
    expected_every_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stale (a finding) when no value arrives for this long; empty: never."
    )
    on_breach = models.CharField(max_length=12, choices=BreachAction.choices, default=BreachAction.FLAG)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="monitoringplanitem_unique_name"),
            models.CheckConstraint(
                condition=models.Q(lower__isnull=True)
                | models.Q(upper__isnull=True)
                | models.Q(lower__lte=models.F("upper")),
                name="monitoringplanitem_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.name}"

    def breached_by(self, value: float) -> bool:
        return (self.lower is not None and value < self.lower) or (self.upper is not None and value > self.upper)

    @property
    def bounds_text(self) -> str:
        if self.lower is not None and self.upper is not None:
            return f"between {self.lower:g} and {self.upper:g}"
        if self.lower is not None:
            return f"at least {self.lower:g}"
        if self.upper is not None:
            return f"at most {self.upper:g}"
        return "no bounds"


class MonitoringSignal(models.Model):
    """One measured value about a model version at a time; the same (version, name, time, source) once."""

    model_version = models.ForeignKey(
        "projects.ModelVersion", on_delete=models.CASCADE, related_name="monitoring_signals"
    )
    # The version's project when the value arrived: pages and the API scope by it.
    project = models.ForeignKey("projects.AIProject", on_delete=models.CASCADE, related_name="monitoring_signals")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SignalKind.choices, default=SignalKind.OTHER)
    value = models.FloatField()
    measured_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=12, choices=SignalSource.choices)
    # Where it came from, for a person tracing it: an Evidently metric id, a dataset, a lineage event hash.
    reference = models.CharField(max_length=500, blank=True)
    # Breached the project's plan when it arrived (the plan may change later; the chart draws today's bounds).
    breached = models.BooleanField(default=False)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["model_version", "name", "measured_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "name", "measured_at", "source"], name="monitoringsignal_unique_measurement"
            )
        ]
        indexes = [
            models.Index(fields=["project", "name", "measured_at"]),
            models.Index(fields=["model_version", "name", "-measured_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value:g} @ {self.measured_at:%Y-%m-%d %H:%M}"
