"""The metrics a registry keeps for a model version: one row per metric and evaluation dataset."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class MetricSource(models.TextChoices):
    RUN = "run", "The run behind the version"
    LOGGED_MODEL = "logged_model", "The logged model (MLflow 3)"
    REGISTRY = "registry", "The registry's version record (SageMaker ModelMetrics)"


class VersionMetric(models.Model):
    """The latest value of one metric of a version, on one evaluation dataset ("" when none was named)."""

    version = models.ForeignKey("projects.ModelVersion", on_delete=models.CASCADE, related_name="metric_values")
    key = models.CharField(max_length=250)
    dataset_name = models.CharField(max_length=250, blank=True)
    dataset_digest = models.CharField(max_length=100, blank=True)
    # None for a value that is not a finite number (MLflow stores NaN): shown as such, never compared.
    value = models.FloatField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True, help_text="When the registry says it was logged.")
    step = models.BigIntegerField(default=0)
    run_id = models.CharField(max_length=100, blank=True, help_text="The run that logged this value.")
    source = models.CharField(max_length=20, choices=MetricSource.choices)
    updated_at = models.DateTimeField(default=timezone.now, help_text="When Keel last stored a new value.")

    class Meta:
        ordering = ["version_id", "key", "dataset_name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key", "dataset_name"], name="versionmetric_one_per_dataset")
        ]

    def __str__(self) -> str:
        on = f" on {self.dataset_name}" if self.dataset_name else ""
        return f"{self.version_id} {self.key}{on} = {self.value}"
