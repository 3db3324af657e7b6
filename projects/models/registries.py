"""Model registries, the models and versions Keel pulls from them, and what was deployed when."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

env_name_validator = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Give the NAME of an environment variable (e.g. MLFLOW_PASSWORD), not a secret."
)
ENV_PREFIX_MESSAGE = (
    "For safety a registry may only read environment variables whose names start with {prefixes} "
    "(KEEL_REGISTRY_ENV_PREFIXES), so that it can never be pointed at Keel's own secrets."
)


def registry_env_prefix_validator(value: str) -> None:
    """Only variables meant for registries: an admin must not be able to send DJANGO_SECRET_KEY to a URL."""
    prefixes = tuple(settings.KEEL_REGISTRY_ENV_PREFIXES)
    # A value that is not a variable name at all gets env_name_validator's message alone.
    if value and env_name_validator.regex.fullmatch(value) and not value.startswith(prefixes):
        raise ValidationError(ENV_PREFIX_MESSAGE.format(prefixes=", ".join(prefixes)))


class RegistryKind(models.TextChoices):
    MLFLOW = "mlflow", "MLflow"
    SAGEMAKER = "sagemaker", "SageMaker Model Registry"


class AuthorMatch(models.TextChoices):
    """How the registry's author of a version is matched to a Keel user (after the registry's own mapping)."""

    USERNAME_OR_EMAIL = "username_or_email", "Keel username or e-mail"
    USERNAME = "username", "Keel username only"
    EMAIL = "email", "Keel e-mail only"
    MAPPING_ONLY = "mapping", "The mapping below only"


class Registry(models.Model):
    """A model registry Keel reads. Credentials are names of environment variables, never secrets."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=RegistryKind.choices)
    base_url = models.URLField(
        max_length=500, blank=True, help_text="MLflow tracking URL, or the SageMaker endpoint URL (blank for AWS)."
    )
    region = models.CharField(max_length=40, blank=True, help_text="SageMaker only, e.g. eu-west-1.")
    username_env = models.CharField(
        max_length=100, blank=True, validators=[env_name_validator, registry_env_prefix_validator],
        help_text="Variable holding the MLflow basic-auth user or the AWS access key id.",
    )  # fmt: skip
    secret_env = models.CharField(
        max_length=100, blank=True, validators=[env_name_validator, registry_env_prefix_validator],
        help_text="Variable holding the MLflow basic-auth password or the AWS secret access key.",
    )  # fmt: skip
    token_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[env_name_validator, registry_env_prefix_validator],
        help_text="Variable holding an MLflow bearer token.",
    )
    enabled = models.BooleanField(default=True)
    write_back_signoff = models.BooleanField(
        default=False,
        help_text="Set the tag keel.signoff=<status> on a model version when its sign-off is approved or "
        "stops being valid (MLflow; Keel's credentials must allow writes).",
    )
    sync_interval_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(30), MaxValueValidator(7 * 24 * 3600)]
    )
    author_match = models.CharField(
        max_length=20,
        choices=AuthorMatch.choices,
        default=AuthorMatch.USERNAME_OR_EMAIL,
        help_text="Separation of duties: how the registry's author of a version (MLflow: the user of the run "
        "that produced it; SageMaker: CreatedBy) is matched to a Keel user, after the registry's author mapping. "
        "An author matched to nobody cannot be kept from approving under another name: map them.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name


REGISTRY_USER_MAPPED_TWICE = "Registry user {name!r} is mapped twice: one registry user is one Keel user."


class RegistryAuthor(models.Model):
    """A registry user who is a given Keel user, when neither name nor e-mail says so."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="authors")
    registry_user = models.CharField(
        max_length=200,  # as long as ModelVersion.created_by
        help_text="The user as the registry names them (MLflow user, SageMaker user profile or IAM ARN); "
        "compared without regard to case.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registry_identities", verbose_name="Keel user"
    )

    class Meta:
        ordering = ["registry", "registry_user"]
        constraints = [
            models.UniqueConstraint(
                Lower("registry_user"),
                "registry",
                name="registry_author_once_per_registry",
                violation_error_message="This registry user is already mapped to a Keel user.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.registry_user} → {self.user}"

    def clean(self) -> None:
        self.registry_user = (self.registry_user or "").strip()


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned (worker died)"


class SyncRun(models.Model):
    """One attempt to sync one registry. A running row is also the per-registry lock."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="sync_runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    task_id = models.CharField(max_length=64, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deployments_started = models.PositiveIntegerField(default=0)
    deployments_ended = models.PositiveIntegerField(default=0)
    models_seen = models.PositiveIntegerField(default=0)
    versions_seen = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_transient = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one running sync per registry: a doubled beat tick or a redelivered task
            # fails to insert its running row and is skipped.
            models.UniqueConstraint(
                fields=["registry"], condition=models.Q(status="running"), name="syncrun_one_running_per_registry"
            )
        ]
        indexes = [models.Index(fields=["registry", "status", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.registry} sync {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class LinkSource(models.TextChoices):
    NONE = "", "Not linked"
    MANUAL = "manual", "Linked by hand"
    TAG = "tag", "Linked by the keel.project tag"


class RegisteredModel(models.Model):
    """A model in a registry, optionally linked to the AI project it serves."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    project = models.ForeignKey(
        "projects.AIProject", on_delete=models.SET_NULL, null=True, blank=True, related_name="registered_models"
    )
    link_source = models.CharField(max_length=10, choices=LinkSource.choices, default=LinkSource.NONE, blank=True)
    registry_created_at = models.DateTimeField(null=True, blank=True)
    registry_updated_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When a sync stopped seeing it.")

    class Meta:
        ordering = ["registry__name", "name"]
        constraints = [models.UniqueConstraint(fields=["registry", "name"], name="registeredmodel_unique_name")]

    def __str__(self) -> str:
        return self.name


class AuthorSource(models.TextChoices):
    UNKNOWN = "", "Unknown"
    REGISTRY = "registry", "The registry's version record"
    RUN = "run", "The run that produced it"


class ModelVersion(models.Model):
    """One version of a registered model as the registry last described it."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=50)
    version_number = models.BigIntegerField(default=0, help_text="For ordering; 0 when the version is not a number.")
    run_id = models.CharField(max_length=100, blank=True)
    source = models.TextField(blank=True)
    status = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    registry_created_at = models.DateTimeField(null=True, blank=True)
    registry_updated_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=50, blank=True, help_text="Legacy MLflow stage.")
    approval = models.CharField(max_length=50, blank=True, help_text="SageMaker approval status.")
    raw = models.JSONField(default=dict, blank=True, help_text="What the registry said, as received.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When a sync stopped seeing it.")
    # Who created it, and where that was read: MLflow 3 leaves the version's user empty and keeps the
    # author on the run. "" with an empty created_by: nobody knows, and governance treats it so.
    author_source = models.CharField(max_length=10, choices=AuthorSource.choices, default="", blank=True)
    # The run (training job) behind the version, as the registry last described it.
    metrics = models.JSONField(
        default=dict, blank=True, help_text='Latest value of each metric: {"auc": {"value", "timestamp", "step"}}.'
    )
    run_params = models.JSONField(default=dict, blank=True, help_text="A few of the run's params (the first 20).")
    run_params_count = models.PositiveIntegerField(null=True, blank=True, help_text="How many params the run has.")
    run_status = models.CharField(max_length=20, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_ended_at = models.DateTimeField(null=True, blank=True)
    experiment_id = models.CharField(max_length=100, blank=True)
    run_user_id = models.CharField(max_length=200, blank=True, help_text="Who ran the run, as the registry says.")
    run_fetched_id = models.CharField(
        max_length=100, blank=True, help_text="The run whose data is stored here; a sync fetches a run only once."
    )

    class Meta:
        ordering = ["registered_model_id", "-version_number", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "version"], name="modelversion_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"


class Signal(models.TextChoices):
    ALIAS = "alias", "Alias"
    STAGE = "stage", "Stage (legacy)"
    APPROVAL = "approval", "Approval status"


class DeploymentObservation(models.Model):
    """A version held an alias, stage or approval status from `observed_from` until `observed_until`.

    Times are when Keel observed the move (registries do not timestamp alias moves). An open
    interval (observed_until null) is what holds now.
    """

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="deployments")
    signal = models.CharField(max_length=10, choices=Signal.choices)
    name = models.CharField(max_length=100)
    observed_from = models.DateTimeField()
    observed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-observed_from", "-id"]
        constraints = [
            # An alias points at one version at a time.
            models.UniqueConstraint(
                fields=["registered_model", "name"],
                condition=models.Q(signal="alias", observed_until__isnull=True),
                name="deployment_one_open_alias",
            ),
            # A version is in one stage, and has one approval status, at a time.
            models.UniqueConstraint(
                fields=["version", "signal"],
                condition=models.Q(signal__in=["stage", "approval"], observed_until__isnull=True),
                name="deployment_one_open_status_per_version",
            ),
            models.CheckConstraint(
                condition=models.Q(observed_until__isnull=True)
                | models.Q(observed_until__gte=models.F("observed_from")),
                name="deployment_interval_ordered",
            ),
        ]
        indexes = [models.Index(fields=["registered_model", "signal", "name", "observed_from"])]

    def __str__(self) -> str:
        return f"{self.version} {self.signal}:{self.name}"
