"""Input and output shapes of the projects API. No logic: services do the writes, selectors the reads."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    INITIAL_STAGES,
    AIProject,
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    Stage,
    SyncStatus,
    Team,
)
from ..selectors import projects_for_user, registry_data_age, registry_is_stale, teams_for_user

User = get_user_model()


class VisibleTeamField(serializers.SlugRelatedField):
    """A team by slug, among the teams the caller may see: another team's slug reads as unknown (no oracle)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Team.objects.all()
        return teams_for_user(user=request.user)


class UserRefField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs)


class TeamSerializer(serializers.ModelSerializer):
    lead = UserRefField(required=False, allow_null=True)
    members = UserRefField(many=True, required=False)
    project_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "lead", "members", "project_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False}}


class ProjectSerializer(serializers.ModelSerializer):
    """Output and update shape; `stage` is read-only here and moves through the transition action."""

    team = VisibleTeamField(queryset=Team.objects.all())
    owner = UserRefField()
    executive_sponsor = UserRefField(required=False, allow_null=True)
    allowed_next_stages = serializers.ListField(child=serializers.CharField(), read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="project-detail", lookup_field="slug")

    class Meta:
        model = AIProject
        fields = [
            "id", "url", "slug", "name", "purpose", "team", "owner", "executive_sponsor", "stage",
            "allowed_next_stages", "stage_changed_at", "health", "risk_tier", "currency", "expected_investment",
            "expected_annual_value", "start_month", "horizon_months", "created_at", "updated_at",
        ]  # fmt: skip
        # risk_tier is set by governance's tier assessment (/api/v1/risk-assessments/); "" = not assessed yet.
        read_only_fields = ["id", "slug", "stage", "stage_changed_at", "risk_tier", "created_at", "updated_at"]


class ProjectCreateSerializer(ProjectSerializer):
    """Create shape: the slug may be chosen, and the project may start at idea, design or development."""

    slug = serializers.SlugField(max_length=120, required=False)
    stage = serializers.ChoiceField(choices=[(s, Stage(s).label) for s in INITIAL_STAGES], default=Stage.IDEA)

    class Meta(ProjectSerializer.Meta):
        read_only_fields = ["id", "stage_changed_at", "created_at", "updated_at"]


class StageTransitionSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- registries, registered models, versions, deployments ----------------------------------------


class RegistrySerializer(serializers.ModelSerializer):
    """A registry connection and its health. Credentials are the NAMES of environment variables."""

    url = serializers.HyperlinkedIdentityField(view_name="registry-detail")
    last_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_success_at = serializers.DateTimeField(read_only=True, allow_null=True)
    data_age_seconds = serializers.SerializerMethodField(help_text="Seconds since the last successful sync.")
    stale = serializers.SerializerMethodField(help_text="Never synced, or last synced over two intervals ago.")
    latest_status = serializers.ChoiceField(choices=SyncStatus.choices, read_only=True, allow_null=True)
    latest_error = serializers.CharField(read_only=True, allow_null=True)
    model_count = serializers.IntegerField(read_only=True, help_text="Models the last sync still saw.")
    version_count = serializers.IntegerField(read_only=True, help_text="Versions the last sync still saw.")

    class Meta:
        model = Registry
        fields = [
            "id", "url", "name", "kind", "base_url", "region", "username_env", "secret_env", "token_env",
            "enabled", "sync_interval_seconds", "write_back_signoff", "last_attempt_at", "last_success_at",
            "data_age_seconds", "stale", "latest_status", "latest_error", "model_count", "version_count", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_data_age_seconds(self, registry) -> int | None:
        return registry_data_age(registry, now=timezone.now())

    def get_stale(self, registry) -> bool:
        return registry_is_stale(registry, now=timezone.now())


class SyncQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()


@extend_schema_field(OpenApiTypes.STR)
class VisibleProjectField(serializers.SlugRelatedField):
    """A project slug the caller may see; any other slug reads as unknown, so nothing leaks."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return projects_for_user(user=request.user) if request else AIProject.objects.none()


class RegisteredModelSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="registered-model-detail")
    registry_name = serializers.CharField(source="registry.name", read_only=True)
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "id", "url", "registry", "registry_name", "name", "description", "tags", "project", "link_source",
            "registry_created_at", "registry_updated_at", "first_seen_at", "deleted_at",
        ]  # fmt: skip
        read_only_fields = fields


class RegisteredModelLinkSerializer(serializers.Serializer):
    """PATCH body: link the model to a project by hand (a slug), or unlink it (null)."""

    project = VisibleProjectField(allow_null=True)


class HoldingSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeploymentObservation
        fields = ["signal", "name", "observed_from"]
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="model-version-detail")
    registry = serializers.IntegerField(source="registered_model.registry_id", read_only=True)
    registry_name = serializers.CharField(source="registered_model.registry.name", read_only=True)
    model = serializers.CharField(source="registered_model.name", read_only=True)
    model_id = serializers.IntegerField(source="registered_model_id", read_only=True)
    project = serializers.SlugRelatedField(
        source="registered_model.project", slug_field="slug", read_only=True, allow_null=True
    )
    holding_now = HoldingSerializer(many=True, read_only=True, help_text="Aliases, stage and approval held now.")

    class Meta:
        model = ModelVersion
        fields = [
            "id", "url", "registry", "registry_name", "model", "model_id", "project", "version", "run_id",
            "source", "status", "stage", "approval", "holding_now", "description", "tags", "created_by",
            "registry_created_at", "registry_updated_at", "first_seen_at", "deleted_at",
        ]  # fmt: skip
        read_only_fields = fields


class ModelVersionDetailSerializer(ModelVersionSerializer):
    """One version, with what the registry said about it as received."""

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "raw"]
        read_only_fields = fields


class DeploymentSerializer(serializers.ModelSerializer):
    """One interval: `version` held `signal`:`name` from `observed_from` until `observed_until` (null: still)."""

    registry = serializers.IntegerField(source="registered_model.registry_id", read_only=True)
    registry_name = serializers.CharField(source="registered_model.registry.name", read_only=True)
    model = serializers.CharField(source="registered_model.name", read_only=True)
    model_id = serializers.IntegerField(source="registered_model_id", read_only=True)
    project = serializers.SlugRelatedField(
        source="registered_model.project", slug_field="slug", read_only=True, allow_null=True
    )
    version = serializers.CharField(source="version.version", read_only=True)
    version_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = DeploymentObservation
        fields = [
            "id", "registry", "registry_name", "model", "model_id", "project", "signal", "name", "version",
            "version_id", "observed_from", "observed_until",
        ]  # fmt: skip
        read_only_fields = fields
