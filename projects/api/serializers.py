"""Input and output shapes for /api/v1/teams and /api/v1/projects. No logic: services do the writes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import INITIAL_STAGES, AIProject, Stage, Team

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

    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    owner = UserRefField()
    executive_sponsor = UserRefField(required=False, allow_null=True)
    allowed_next_stages = serializers.ListField(child=serializers.CharField(), read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="project-detail", lookup_field="slug")

    class Meta:
        model = AIProject
        fields = [
            "id", "url", "slug", "name", "purpose", "team", "owner", "executive_sponsor", "stage",
            "allowed_next_stages", "stage_changed_at", "health", "currency", "expected_investment",
            "expected_annual_value", "horizon_months", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "slug", "stage", "stage_changed_at", "created_at", "updated_at"]


class ProjectCreateSerializer(ProjectSerializer):
    """Create shape: the slug may be chosen, and the project may start at idea, design or development."""

    slug = serializers.SlugField(max_length=120, required=False)
    stage = serializers.ChoiceField(choices=[(s, Stage(s).label) for s in INITIAL_STAGES], default=Stage.IDEA)

    class Meta(ProjectSerializer.Meta):
        read_only_fields = ["id", "stage_changed_at", "created_at", "updated_at"]


class StageTransitionSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
