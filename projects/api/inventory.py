"""API of teams and projects: shapes and viewsets. No logic: services do the writes, selectors the reads."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.columns import list_columns
from core.api.fields import IdentityUrlField, ScopedSlugRelatedField
from core.api.rows import RowListMixin
from core.ids import parse_id
from core.roles import Role

from ..inventory import services
from ..inventory.filters import AIProjectFilterSet, TeamFilterSet
from ..inventory.selectors import projects_for_user, teams_for_user
from ..models import (
    INITIAL_STAGES,
    AIProject,
    Stage,
    Team,
)
from ..permissions import can_change_project, can_manage_teams

User = get_user_model()


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

    team = ScopedSlugRelatedField(scope=teams_for_user)
    owner = UserRefField()
    executive_sponsor = UserRefField(required=False, allow_null=True)
    allowed_next_stages = serializers.ListField(child=serializers.CharField(), read_only=True)
    url = IdentityUrlField(view_name="project-detail", lookup_field="slug")

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

    # The answer to a write is read back through get_queryset(), so it carries project_count like a read does.
    def perform_create(self, serializer):
        team = services.team_create(by=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=team.pk)

    def perform_update(self, serializer):
        team = services.team_update(by=self.request.user, team=serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=team.pk)

    def perform_destroy(self, instance):
        services.team_delete(by=self.request.user, team=instance)


class AIProjectViewSet(RowListMixin, viewsets.ModelViewSet):
    """AI projects, addressed by slug (or numeric id). Only an idea can be deleted; later stages retire."""

    filterset_class = AIProjectFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    read_roles = ALL_ROLES
    write_roles = (Role.TEAM_LEAD, Role.ADMIN)
    transition_roles = write_roles

    def get_queryset(self):
        qs = projects_for_user(user=self.request.user)
        if self.action == "list":
            qs = qs.only(*list_columns(AIProject, "team__slug", "owner__username", "executive_sponsor__username"))
        return qs

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
        if project is None and parse_id(value) is not None:
            project = qs.filter(pk=parse_id(value)).first()
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
