from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.roles import Role

from .. import services
from ..filters import AIProjectFilterSet, TeamFilterSet
from ..permissions import can_change_project, can_manage_teams
from ..selectors import projects_for_user, teams_for_user
from .serializers import ProjectCreateSerializer, ProjectSerializer, StageTransitionSerializer, TeamSerializer

ALL_ROLES = (Role.EXECUTIVE, Role.RISK_OFFICER, Role.TEAM_LEAD, Role.ADMIN)


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
