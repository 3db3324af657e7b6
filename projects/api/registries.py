"""API of registries, registered models, versions and deployments: shapes and viewsets."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.columns import list_columns
from core.api.fields import IdentityUrlField, ScopedSlugRelatedField
from core.api.rows import RowListMixin
from core.roles import Role, is_admin

from ..inventory.selectors import projects_for_user
from ..models import (
    DeploymentObservation,
    ModelVersion,
    RegisteredModel,
    Registry,
    SyncStatus,
)
from ..permissions import can_change_project
from ..registries import services
from ..registries.filters import DeploymentFilterSet, ModelVersionFilterSet, RegisteredModelFilterSet, RegistryFilterSet
from ..registries.selectors import (
    deployment_intervals_for_user,
    model_versions_for_user,
    registered_models_for_user,
    registries_for_user,
    registry_data_age,
    registry_is_stale,
)


class RegistrySerializer(serializers.ModelSerializer):
    """A registry connection and its health. Credentials are the NAMES of environment variables."""

    url = IdentityUrlField(view_name="registry-detail")
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
            "enabled", "sync_interval_seconds", "write_back_signoff", "author_match", "last_attempt_at",
            "last_success_at", "data_age_seconds", "stale", "latest_status", "latest_error", "model_count",
            "version_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    # null until the first successful sync.
    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_data_age_seconds(self, registry) -> int | None:
        return registry_data_age(registry, now=timezone.now())

    def get_stale(self, registry) -> bool:
        return registry_is_stale(registry, now=timezone.now())


class SyncQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()


class RegisteredModelSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="registered-model-detail")
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

    project = ScopedSlugRelatedField(scope=projects_for_user, allow_null=True)


class HoldingSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeploymentObservation
        fields = ["signal", "name", "observed_from"]
        read_only_fields = fields


class _OfRegisteredModel(serializers.ModelSerializer):
    """The registry, model and project a version or a deployment interval belongs to, as every such row says them."""

    registry = serializers.IntegerField(source="registered_model.registry_id", read_only=True)
    registry_name = serializers.CharField(source="registered_model.registry.name", read_only=True)
    model = serializers.CharField(source="registered_model.name", read_only=True)
    model_id = serializers.IntegerField(source="registered_model_id", read_only=True)
    project = serializers.SlugRelatedField(
        source="registered_model.project", slug_field="slug", read_only=True, allow_null=True
    )


# What a version's or an interval's row shows of its model, registry and project.
OF_REGISTERED_MODEL = (
    "registered_model__name", "registered_model__registry_id", "registered_model__registry__name",
    "registered_model__project__slug",
)  # fmt: skip


class ModelVersionSerializer(_OfRegisteredModel):
    url = IdentityUrlField(view_name="model-version-detail")
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


class DeploymentSerializer(_OfRegisteredModel):
    """One interval: `version` held `signal`:`name` from `observed_from` until `observed_until` (null: still)."""

    version = serializers.CharField(source="version.version", read_only=True)
    version_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = DeploymentObservation
        fields = [
            "id", "registry", "registry_name", "model", "model_id", "project", "signal", "name", "version",
            "version_id", "observed_from", "observed_until",
        ]  # fmt: skip
        read_only_fields = fields


ALL_ROLES = roles.ALL_ROLES
VERSION_DETAIL_ONLY = ("raw", "metrics", "run_params")


class RegistryViewSet(viewsets.ModelViewSet):
    """Registry connections and their health. Everyone with a role reads them; admins change them.

    A registry that has brought in models cannot be deleted (its deployment history would go with
    it): the delete answers 400 and says to disable it instead.
    """

    serializer_class = RegistrySerializer
    filterset_class = RegistryFilterSet
    read_roles = ALL_ROLES
    write_roles = (Role.ADMIN,)
    sync_roles = (Role.ADMIN,)

    def get_queryset(self):
        return registries_for_user(user=self.request.user)

    def can_write_object(self, user, obj):
        return is_admin(user)

    def perform_create(self, serializer):
        registry = services.registry_create(by=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=registry.pk)  # with its (empty) health

    def perform_update(self, serializer):
        services.registry_update(by=self.request.user, registry=serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.registry_delete(by=self.request.user, registry=instance)

    @extend_schema(request=None, responses={202: SyncQueuedSerializer, 400: OpenApiResponse(description="Disabled")})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Ask a worker to sync this registry now; the registry's health shows the outcome."""
        registry = self.get_object()
        services.registry_sync_request(by=request.user, registry=registry)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class RegisteredModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Models found in the registries. PATCH changes only the project link (a hand link beats the tag)."""

    serializer_class = RegisteredModelSerializer
    filterset_class = RegisteredModelFilterSet
    read_roles = ALL_ROLES
    write_roles = (Role.TEAM_LEAD, Role.ADMIN)

    def get_queryset(self):
        return registered_models_for_user(user=self.request.user)

    def can_write_object(self, user, obj):
        # The target project is checked by the service; here, the project the model is linked to now.
        return obj.project is None or can_change_project(user, obj.project)

    @extend_schema(request=RegisteredModelLinkSerializer, responses=RegisteredModelSerializer)
    def partial_update(self, request, pk=None):
        """Link the model to a project (its slug) or unlink it (null)."""
        model = self.get_object()
        link = RegisteredModelLinkSerializer(data=request.data, context=self.get_serializer_context())
        link.is_valid(raise_exception=True)
        services.registered_model_link(by=request.user, model=model, project=link.validated_data["project"])
        return Response(self.get_serializer(self.get_queryset().get(pk=model.pk)).data)


class ModelVersionViewSet(RowListMixin, viewsets.ReadOnlyModelViewSet):
    """Model versions as the registries last described them; deleted ones only with ?deleted=true."""

    filterset_class = ModelVersionFilterSet
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        holding = DeploymentObservation.objects.filter(observed_until__isnull=True).order_by("signal", "name")
        qs = model_versions_for_user(user=self.request.user).prefetch_related(
            Prefetch("deployments", queryset=holding, to_attr="holding_now")
        )
        if self.action == "list":  # the registry's raw answer, metrics and params are the detail's
            qs = qs.only(*list_columns(ModelVersion, *OF_REGISTERED_MODEL, without=VERSION_DETAIL_ONLY))
        return qs

    def get_serializer_class(self):
        return ModelVersionDetailSerializer if self.action == "retrieve" else ModelVersionSerializer


class DeploymentViewSet(RowListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """What held each alias, stage or approval status at `?at=<ISO 8601 date-time>` (absent: now)."""

    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        return deployment_intervals_for_user(user=self.request.user).only(
            *list_columns(DeploymentObservation, "version__version", *OF_REGISTERED_MODEL)
        )
