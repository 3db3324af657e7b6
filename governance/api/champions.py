"""/api/v1/champion-challenger: for each model in the caller's scope, the version holding each alias, and
the champion against each challenger (governance/signoff/champions.py), with the dashboard's counts.

    GET /api/v1/champion-challenger               every linked model the caller may see
    GET /api/v1/champion-challenger?project=<slug> one project's models (404 when not the caller's to see)
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from projects.inventory.selectors import projects_for_user
from projects.registries.selectors import registered_models_for_user

from ..signoff.champions import comparisons, counts

PROJECT_NOT_FOUND = "No project with this slug is yours to see."


class ChampionQuerySerializer(serializers.Serializer):
    project = serializers.SlugField(max_length=100, required=False, help_text="A project's slug.")


class AliasHolderSerializer(serializers.Serializer):
    alias = serializers.CharField()
    version = serializers.CharField()
    since = serializers.DateTimeField(help_text="When Keel first saw the version hold the alias.")


class MetricDeltaSerializer(serializers.Serializer):
    key = serializers.CharField()
    dataset_name = serializers.CharField(help_text='The evaluation dataset ("" when none was named).')
    champion = serializers.FloatField(allow_null=True)
    challenger = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True, help_text="challenger - champion.")
    direction = serializers.CharField(help_text='"higher", "lower", or "" when the policy names no direction.')
    better = serializers.CharField(help_text='"champion", "challenger", "equal", or "" when it cannot be said.')


class ChallengeSerializer(serializers.Serializer):
    challenger = AliasHolderSerializer()
    beats_champion = serializers.BooleanField()
    metrics = MetricDeltaSerializer(many=True)


class ModelComparisonSerializer(serializers.Serializer):
    registry = serializers.CharField()
    model = serializers.CharField()
    project = serializers.CharField(allow_null=True)
    champion = AliasHolderSerializer(allow_null=True)
    aliases = AliasHolderSerializer(many=True, source="holders")
    challenges = ChallengeSerializer(many=True)


class ChampionChallengerSerializer(serializers.Serializer):
    production_models = serializers.IntegerField(help_text="Models whose champion holds a production alias.")
    with_challenger = serializers.IntegerField(help_text="Of those, how many have a challenger.")
    challengers_beating = serializers.IntegerField(help_text="Challengers that beat their champion.")
    models = ModelComparisonSerializer(many=True)


class ChampionChallengerView(APIView):
    """Champion against challenger for the models of the projects the caller may see."""

    read_roles = roles.ALL_ROLES

    @extend_schema(
        parameters=[ChampionQuerySerializer],
        responses={200: ChampionChallengerSerializer, 400: None, 404: None},
        operation_id="champion_challenger",
    )
    def get(self, request):
        query = ChampionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        models = registered_models_for_user(user=request.user).filter(project__isnull=False)
        slug = query.validated_data.get("project")
        if slug:
            project = projects_for_user(user=request.user).filter(slug=slug).first()
            if project is None:
                raise Http404(PROJECT_NOT_FOUND)
            models = models.filter(project=project)
        found = comparisons(models)
        slugs = dict(
            projects_for_user(user=request.user).filter(pk__in={c.project_id for c in found}).values_list("pk", "slug")
        )
        payload = {
            **counts(found),
            "models": [{**vars(c), "project": slugs.get(c.project_id)} for c in found],
        }
        return Response(ChampionChallengerSerializer(payload).data)
