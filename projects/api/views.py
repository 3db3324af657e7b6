from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.roles import Role, is_admin

from .. import services
from ..filters import (
    AIProjectFilterSet,
    DeploymentFilterSet,
    ModelVersionFilterSet,
    RegisteredModelFilterSet,
    RegistryFilterSet,
    TeamFilterSet,
)
from ..models import DeploymentObservation
from ..permissions import can_change_project, can_manage_teams
from ..selectors import (
    deployment_intervals_for_user,
    model_versions_for_user,
    projects_for_user,
    registered_models_for_user,
    registries_for_user,
    teams_for_user,
)
from .serializers import (
    DeploymentSerializer,
    ModelVersionDetailSerializer,
    ModelVersionSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    RegisteredModelLinkSerializer,
    RegisteredModelSerializer,
    RegistrySerializer,
    StageTransitionSerializer,
    SyncQueuedSerializer,
    TeamSerializer,
)

ALL_ROLES = roles.ALL_ROLES


class TeamViewSet(viewsets.ModelViewSet):
    """Teams: everyone with a role reads the teams they may see; admins create, change and delete them."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "slug"
    read_roles = ALL_ROLES
    write_roles = (Role.ADMIN,)

    def get_queryset(self):
        return teams_for_user(user=self.request.user).prefetch_related("members").order_by("name")

    def can_write_object(self, user, obj):
        return can_manage_teams(user)

    def perform_create(self, serializer):
        serializer.instance = services.team_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.team_update(
            by=self.request.user, team=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.team_delete(by=self.request.user, team=instance)


class AIProjectViewSet(viewsets.ModelViewSet):
    """AI projects, addressed by slug (or numeric id). Only an idea can be deleted; later stages retire."""

    filterset_class = AIProjectFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    read_roles = ALL_ROLES
    write_roles = (Role.TEAM_LEAD, Role.ADMIN)
    transition_roles = write_roles

    def get_queryset(self):
        return projects_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return ProjectCreateSerializer
        if self.action == "transition":
            return StageTransitionSerializer
        return ProjectSerializer

    def can_write_object(self, user, obj):
        return can_change_project(user, obj)

    def get_object(self):
        # Slugs are the public address; numeric ids (what `id` in a response says) work too.
        value = self.kwargs[self.lookup_field]
        qs = self.get_queryset()
        project = qs.filter(slug=value).first()
        if project is None and value.isdigit():
            project = qs.filter(pk=int(value)).first()
        if project is None:
            raise Http404("No such project, or you may not see it.")
        self.check_object_permissions(self.request, project)
        return project

    def perform_destroy(self, instance):
        services.project_delete(by=self.request.user, project=instance)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(by=request.user, **serializer.validated_data)
        out = ProjectSerializer(project, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.project_update(
            by=self.request.user, project=serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=StageTransitionSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, slug=None):
        """Move the project to another lifecycle stage (only the allowed next stages are accepted)."""
        project = self.get_object()
        serializer = StageTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_change_stage(by=request.user, project=project, **serializer.validated_data)
        return Response(ProjectSerializer(project, context=self.get_serializer_context()).data)


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


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Model versions as the registries last described them; deleted ones only with ?deleted=true."""

    filterset_class = ModelVersionFilterSet
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        holding = DeploymentObservation.objects.filter(observed_until__isnull=True).order_by("signal", "name")
        return model_versions_for_user(user=self.request.user).prefetch_related(
            Prefetch("deployments", queryset=holding, to_attr="holding_now")
        )

    def get_serializer_class(self):
        return ModelVersionDetailSerializer if self.action == "retrieve" else ModelVersionSerializer


class DeploymentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """What held each alias, stage or approval status at `?at=<ISO 8601 date-time>` (absent: now)."""

    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        return deployment_intervals_for_user(user=self.request.user)
