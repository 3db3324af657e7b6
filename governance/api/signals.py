"""/api/v1/signals: monitoring signals about a model version, posted by a monitoring job.

    POST /api/v1/signals                                   Keel's JSON form:
        {"registry": "prod-mlflow", "model": "fraud", "version": "7",
         "signals": [{"name": "psi.amount", "value": 0.31, "kind": "drift", "measured_at": "2026-11-03T10:00:00Z"}]}
    POST /api/v1/signals?registry=prod-mlflow&model=fraud&version=7[&measured_at=...]
        the JSON of an Evidently 0.7 report, as it is (Report.run(...).json()); see monitoring/evidently.py
    201 {"recorded", "duplicates", "breached", "signals": [...]}   (a re-post of the same values: recorded 0)
    400 not a form Keel reads, a value refused (each named), or (code version_not_found) no such version
    403 the caller may not post signals for this version's project

Who may post: admins, and team leads for their team's projects (a machine user per monitoring job, with an
API token sent as `Authorization: Bearer <key>`). Every accepted post is one audit event.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import pagination, serializers, status, viewsets
from rest_framework.response import Response

from core.api.exceptions import error_body
from core.api.views import PostOnlyAPIView
from core.roles import ALL_ROLES
from projects.registries.selectors import model_versions_for_user

from ..models import MonitoringSignal, SignalKind, SignalSource
from ..monitoring import evidently
from ..monitoring.filters import MonitoringSignalFilterSet
from ..monitoring.permissions import SIGNAL_POST_ROLES
from ..monitoring.selectors import signals_for_user
from ..monitoring.services import MAX_SIGNALS_PER_POST, SignalIn, signals_record

VERSION_NOT_FOUND = (
    "Keel knows no version {version!r} of model {model!r} in registry {registry!r} (or not yours to see)."
)
REFERENCE_CONFLICT = "The query says {field}={query!r} but the body says {body!r}; give it once."
BODY_NOT_OBJECT = "The body must be a JSON object: Keel's signal form or an Evidently report."


class VersionReferenceSerializer(serializers.Serializer):
    registry = serializers.CharField(max_length=100, help_text="The registry's name in Keel.")
    model = serializers.CharField(max_length=500, help_text="The registered model's name.")
    version = serializers.CharField(max_length=50, help_text="The model version.")
    measured_at = serializers.DateTimeField(
        required=False, help_text="When the values were measured (default: now); the form's own times win."
    )


class SignalValueSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    value = serializers.FloatField()
    kind = serializers.ChoiceField(choices=SignalKind.choices, required=False, default=SignalKind.OTHER)
    measured_at = serializers.DateTimeField(required=False, help_text="Default: the post's measured_at, or now.")


class SignalFormSerializer(serializers.Serializer):
    registry = serializers.CharField(max_length=100, required=False)
    model = serializers.CharField(max_length=500, required=False)
    version = serializers.CharField(max_length=50, required=False)
    measured_at = serializers.DateTimeField(required=False)
    signals = SignalValueSerializer(many=True, allow_empty=False, max_length=MAX_SIGNALS_PER_POST)


class RecordedSignalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.FloatField()
    measured_at = serializers.DateTimeField()
    breached = serializers.BooleanField()


class SignalsRecordedSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=SignalSource.choices)
    model_version = serializers.IntegerField()
    recorded = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Values already recorded (same name, time and source).")
    breached = serializers.ListField(child=serializers.CharField(), help_text="Plan items now out of bounds.")
    signals = RecordedSignalSerializer(many=True)


def _reference(request, body: dict) -> dict:
    """registry/model/version/measured_at from the query string, or from Keel's form (not both, differing)."""
    merged = {k: v for k, v in request.query_params.items() if k in VersionReferenceSerializer().fields}
    for name in ("registry", "model", "version", "measured_at"):
        if name in body and not isinstance(body[name], dict | list):
            if name in merged and str(body[name]) != merged[name]:
                raise serializers.ValidationError(
                    {name: [REFERENCE_CONFLICT.format(field=name, query=merged[name], body=body[name])]}
                )
            merged[name] = body[name]
    ref = VersionReferenceSerializer(data=merged)
    ref.is_valid(raise_exception=True)
    return ref.validated_data


class SignalsView(PostOnlyAPIView):
    """Take monitoring signals for one model version (Keel's form or an Evidently report)."""

    read_roles = ()
    write_roles = SIGNAL_POST_ROLES

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("registry", str, description="With an Evidently report: the registry's name."),
            OpenApiParameter("model", str, description="With an Evidently report: the registered model's name."),
            OpenApiParameter("version", str, description="With an Evidently report: the model version."),
            OpenApiParameter("measured_at", OpenApiTypes.DATETIME, description="When measured (default: now)."),
        ],
        responses={
            201: SignalsRecordedSerializer,
            400: OpenApiResponse(description="Not a form Keel reads, a refused value, or no such version."),
            403: OpenApiResponse(description="The caller may not post signals for this version's project."),
        },
        operation_id="signals_post",
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict):
            raise serializers.ValidationError({"non_field_errors": [BODY_NOT_OBJECT]})
        ref = _reference(request, body)
        default_time = ref.get("measured_at") or timezone.now()
        if evidently.looks_like_evidently(body) or ("signals" not in body and "metrics" in body):
            try:
                values = evidently.report_values(body)
            except evidently.ReportUnreadable as exc:
                return Response(error_body(detail=str(exc), code="report_unreadable"), status=400)
            source = SignalSource.EVIDENTLY
            signals = [SignalIn(v.name, v.value, default_time, v.kind, v.reference) for v in values]
        else:
            form = SignalFormSerializer(data=body)
            form.is_valid(raise_exception=True)
            source = SignalSource.WEBHOOK
            signals = [
                SignalIn(s["name"], s["value"], s.get("measured_at") or default_time, s["kind"])
                for s in form.validated_data["signals"]
            ]
        version = (
            model_versions_for_user(user=request.user)
            .filter(
                registered_model__registry__name=ref["registry"],
                registered_model__name=ref["model"],
                version=ref["version"],
            )
            .first()
        )
        if version is None:
            detail = VERSION_NOT_FOUND.format(**{k: ref[k] for k in ("registry", "model", "version")})
            return Response(
                error_body(detail=detail, code="version_not_found", fields={"version": [detail]}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        recorded = signals_record(version=version, signals=signals, source=source, by=request.user)
        return Response(
            {
                "source": source,
                "model_version": version.pk,
                "recorded": len(recorded.created),
                "duplicates": recorded.duplicates,
                "breached": recorded.breaches,
                "signals": [
                    {
                        "id": s.pk,
                        "name": s.name,
                        "kind": s.kind,
                        "value": s.value,
                        "measured_at": s.measured_at,
                        "breached": s.breached,
                    }
                    for s in recorded.created
                ],
            },
            status=status.HTTP_201_CREATED,
        )


class MonitoringSignalSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    registry = serializers.CharField(source="model_version.registered_model.registry.name", read_only=True)
    model = serializers.CharField(source="model_version.registered_model.name", read_only=True)
    version = serializers.CharField(source="model_version.version", read_only=True)

    class Meta:
        model = MonitoringSignal
        fields = [
            "id", "project", "model_version", "registry", "model", "version", "name", "kind", "value", "measured_at",
            "received_at", "source", "reference", "breached",
        ]  # fmt: skip
        read_only_fields = fields


class SignalCursorPagination(pagination.CursorPagination):
    """Newest first; stable pages while values keep arriving, and no COUNT over a growing table."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-measured_at", "-id")


class MonitoringSignalViewSet(viewsets.ReadOnlyModelViewSet):
    """Recorded monitoring signals of the projects the caller may see, newest first (post them to /api/v1/signals)."""

    serializer_class = MonitoringSignalSerializer
    filterset_class = MonitoringSignalFilterSet
    pagination_class = SignalCursorPagination
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        return signals_for_user(user=self.request.user)
