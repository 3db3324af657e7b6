"""The data inventory and its lineage, as OpenLineage producers report it.

Data sources are OpenLineage namespaces; datasets are (namespace, name); fields come from the `schema`
facet; jobs and runs from run events. Edges exist at two levels: a dataset-level edge for each
input x output of a job run, and a column-level edge for each entry of the `columnLineage` facet.
Raw events are kept once each (idempotent by content hash) so the graph can always be rebuilt.

Only governance/lineage/ writes the lineage rows (receive.py the raw event, the applier in writer.py and
edges.py the graph); the compliance fields of a dataset (owner, legal basis, Art. 9 condition,
retention) are written by the classification services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.jsontext import JSONTextField


class DataSource(models.Model):
    """Where datasets live, keyed by the OpenLineage namespace (e.g. postgres://db.example:5432)."""

    namespace = models.CharField(max_length=500, unique=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace"]

    def __str__(self) -> str:
        return self.name or self.namespace


class DatasetType(models.TextChoices):
    """Values seen in the `datasetType` facet; any other producer value is stored as given."""

    TABLE = "TABLE", "Table"
    VIEW = "VIEW", "View"
    MODEL = "MODEL", "Model"
    FILE = "FILE", "File"
    STREAM = "STREAM", "Stream"
    TOPIC = "TOPIC", "Topic"


class ModelLinkSource(models.TextChoices):
    NONE = "", "Not linked"
    FACET = "facet", "From the event's facets"
    MANUAL = "manual", "Linked by hand"
    REGISTRY = "registry", "From the registry's dataset inputs"


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1)(a)-(f)."""

    CONSENT = "consent", "Consent — Art. 6(1)(a)"
    CONTRACT = "contract", "Contract — Art. 6(1)(b)"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation — Art. 6(1)(c)"
    VITAL_INTERESTS = "vital_interests", "Vital interests — Art. 6(1)(d)"
    PUBLIC_TASK = "public_task", "Public task — Art. 6(1)(e)"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests — Art. 6(1)(f)"


class Art9Condition(models.TextChoices):
    """GDPR Art. 9(2)(a)-(j): the condition that lifts the ban on processing special categories."""

    EXPLICIT_CONSENT = "a_explicit_consent", "Explicit consent — Art. 9(2)(a)"
    EMPLOYMENT = "b_employment_social_security", "Employment and social security law — Art. 9(2)(b)"
    VITAL_INTERESTS = "c_vital_interests", "Vital interests, subject incapable of consent — Art. 9(2)(c)"
    NOT_FOR_PROFIT = "d_not_for_profit_body", "Not-for-profit body, members — Art. 9(2)(d)"
    MADE_PUBLIC = "e_made_public", "Manifestly made public by the data subject — Art. 9(2)(e)"
    LEGAL_CLAIMS = "f_legal_claims", "Legal claims or courts — Art. 9(2)(f)"
    SUBSTANTIAL_PUBLIC_INTEREST = "g_substantial_public_interest", "Substantial public interest — Art. 9(2)(g)"
    HEALTH_CARE = "h_health_social_care", "Preventive or occupational medicine, health or social care — Art. 9(2)(h)"
    PUBLIC_HEALTH = "i_public_health", "Public interest in public health — Art. 9(2)(i)"
    ARCHIVING_RESEARCH = "j_archiving_research_statistics", "Archiving, research or statistics — Art. 9(2)(j)"


class Dataset(models.Model):
    source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="datasets")
    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=1000)
    dataset_type = models.CharField(
        max_length=50, blank=True, help_text="From the datasetType facet: TABLE, VIEW, MODEL, FILE, STREAM…"
    )
    symlinks = models.JSONField(
        default=list,
        blank=True,
        help_text='Other identifiers from the symlinks facet: [{"namespace", "name", "type"}].',
    )
    facets = models.JSONField(default=dict, blank=True, help_text="The latest dataset facets, merged by facet name.")
    model_version = models.ForeignKey(
        "projects.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="lineage_datasets"
    )
    model_link_source = models.CharField(
        max_length=10, choices=ModelLinkSource.choices, default=ModelLinkSource.NONE, blank=True
    )
    # Compliance facts (written by the classification services, not by ingest).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_datasets"
    )
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices, blank=True)
    art9_condition = models.CharField(max_length=40, choices=Art9Condition.choices, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_unique_identifier")]
        indexes = [models.Index(fields=["dataset_type"])]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class DatasetSymlink(models.Model):
    """One alias of a dataset (symlinks facet), so that a lookup by any of its identifiers finds it."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="symlink_rows")
    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=1000)
    type = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="datasetsymlink_unique_identifier")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} -> {self.dataset_id}"


class DatasetField(models.Model):
    # No index of its own: the (dataset, name) unique constraint starts with it.
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="fields", db_index=False)
    name = models.CharField(max_length=500)
    data_type = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # A PII kind a data-inventory import named for the column without applying it: a suggestion the DPO
    # confirms or ignores (governance/compliance/suggestions.py), never a classification by itself.
    suggested_pii_kind = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["dataset_id", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="datasetfield_unique_name")]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=1000)
    facets = models.JSONField(default=dict, blank=True, help_text="The latest job facets, merged by facet name.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="job_unique_identifier")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class RunState(models.TextChoices):
    """OpenLineage eventType."""

    START = "START", "Started"
    RUNNING = "RUNNING", "Running"
    COMPLETE = "COMPLETE", "Completed"
    ABORT = "ABORT", "Aborted"
    FAIL = "FAIL", "Failed"
    OTHER = "OTHER", "Other"


class Run(models.Model):
    """One run of a job; its START, RUNNING and COMPLETE/FAIL events merge into this row."""

    run_id = models.CharField(max_length=64, unique=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=10, choices=RunState.choices)
    started_at = models.DateTimeField(help_text="The earliest event time seen for the run.")
    ended_at = models.DateTimeField(null=True, blank=True)
    facets = models.JSONField(default=dict, blank=True, help_text="Run facets merged across the run's events.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"])]

    def __str__(self) -> str:
        return self.run_id


class LineageEventKind(models.TextChoices):
    RUN = "run", "Run event"
    JOB = "job", "Job event"
    DATASET = "dataset", "Dataset event"


class LineageEvent(models.Model):
    """A raw OpenLineage event, stored once: the SHA-256 of its canonical JSON is unique."""

    event_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=LineageEventKind.choices)
    event_type = models.CharField(max_length=10, blank=True)
    event_time = models.DateTimeField()
    run_id = models.CharField(max_length=64, blank=True)
    job_namespace = models.CharField(max_length=500, blank=True)
    job_name = models.CharField(max_length=1000, blank=True)
    producer = models.CharField(max_length=1000)
    schema_url = models.CharField(max_length=1000)
    spec_major = models.PositiveSmallIntegerField()
    payload = JSONTextField()  # the raw event, read whole by the applier (core/jsontext.py says why text)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Null while the event waits to be applied to the graph (governance/lineage/queue.py): the POST stores
    # the raw event durably and answers; a worker applies the waiting events in batches, in id order.
    applied_at = models.DateTimeField(null=True, blank=True)
    # Set when the event was refused while being applied (e.g. its runId belongs to another job by then):
    # it is marked applied so the queue moves on, and its graph changes are not made.
    apply_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["run_id"]),
            models.Index(fields=["event_time"]),
            models.Index(fields=["id"], condition=models.Q(applied_at__isnull=True), name="lineageevent_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_type} {self.event_hash[:12]}"


class LineageApplyLease(models.Model):
    """Who applies waiting lineage events now: one applier at a time across processes and databases.

    Taken with a conditional UPDATE (free, or expired) and renewed per batch, so a worker that died holding
    it blocks others only until `expires_at` (governance/lineage/queue.py)."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_applied_at = models.DateTimeField(null=True, blank=True, help_text="When the last batch was applied.")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"


class LineageEdge(models.Model):
    """Dataset level: the job read `source` and wrote `target` (each input x each output of a run)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="edges")
    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="downstream_edges")
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="upstream_edges")
    has_column_lineage = models.BooleanField(
        default=False, help_text="The output's columnLineage facet names a field of this source."
    )
    # The output has a columnLineage facet that names no field of this source as a DIRECT input (the job
    # read it only to join or filter, or the facet lists it only in its dataset-wide `dataset` entries):
    # the facet is the authority for its output, so the source's PII was processed, not copied.
    indirect = models.BooleanField(
        default=False,
        help_text="The output's columnLineage facet names this source only as joined or filtered.",
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "source", "target"], name="lineageedge_unique")]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id} ({self.job_id})"


class TransformationType(models.TextChoices):
    DIRECT = "DIRECT", "Direct"
    INDIRECT = "INDIRECT", "Indirect"
    UNKNOWN = "", "Not stated (older facet)"


class ColumnEdge(models.Model):
    """Column level, from the columnLineage facet of the target's dataset.

    `job` is null when the facet came on a DatasetEvent (no job). Null never equals null in a unique
    index, so uniqueness is two partial constraints: one per job, one for the job-less edges.
    """

    # No index of its own: the per-job unique constraint starts with it (an index is one more B-tree every one
    # of the thousands of edges a lineage batch inserts has to update).
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, null=True, blank=True, related_name="column_edges", db_index=False
    )
    source_field = models.ForeignKey(DatasetField, on_delete=models.CASCADE, related_name="downstream_column_edges")
    target_field = models.ForeignKey(DatasetField, on_delete=models.CASCADE, related_name="upstream_column_edges")
    transformation_type = models.CharField(
        max_length=10, choices=TransformationType.choices, blank=True, default=TransformationType.UNKNOWN
    )
    subtype = models.CharField(
        max_length=30, blank=True, help_text="IDENTITY, TRANSFORMATION, AGGREGATION, JOIN, FILTER, GROUP_BY, SORT…"
    )
    masking = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "source_field", "target_field", "transformation_type", "subtype"],
                condition=models.Q(job__isnull=False),
                name="columnedge_unique_per_job",
            ),
            models.UniqueConstraint(
                fields=["source_field", "target_field", "transformation_type", "subtype"],
                condition=models.Q(job__isnull=True),
                name="columnedge_unique_without_job",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_field_id} -> {self.target_field_id} {self.transformation_type}/{self.subtype}"
