"""/api/v1/lineage (OpenLineage ingest, Marquez-compatible) and /api/v1/datasets/ (the data inventory).

    POST /api/v1/lineage        one OpenLineage RunEvent, JobEvent or DatasetEvent (JSON; gzip allowed)
        201 {"status": "accepted", "applied": false, ...}   stored durably; a worker applies it (in id
                                          order, in batches) unless KEEL_LINEAGE_APPLY_INLINE applied it now
        200 {"status": "duplicate", ...}  the same event was stored before: nothing changed
        400 {"detail", "code", "reasons"} not an event Keel can take (every reason listed), nothing stored;
            code request_too_large past KEEL_LINEAGE_MAX_BODY_BYTES (as sent, or once un-gzipped)
        403 the caller may not post lineage, or (code namespace_out_of_scope) not to these namespaces
    POST /api/v1/lineage/ is the same (producers are configured with either); other methods: 405.
    GET /api/v1/lineage/status  how far the applied graph is behind: pending, oldest_age_seconds, …

Same path and body as Marquez, so a producer's OpenLineage HTTP transport works unchanged: point its
`url` at Keel and give it an API token as its api_key (sent as `Authorization: Bearer <key>`;
`Token <key>` works too). Who may post: Admin and Team Lead — in practice a machine user per pipeline
holding the Team Lead role (README, "Lineage ingest") — and a token only to its OpenLineage namespaces
(governance/lineage/scopes.py). Bulky diagnostic facets are stored cut down (governance/lineage/limits.py).
"""

from __future__ import annotations

import django_filters
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from core.api.fields import IdentityUrlField
from core.api.views import PostOnlyAPIView
from core.ids import IdFilter
from core.models import ApiToken
from core.roles import Role
from projects.models import ModelVersion
from projects.registries.selectors import model_versions_for_user

from ..lineage import limits, model_links, selectors
from ..lineage.ingest import INGEST_ROLES, lineage_event_post
from ..lineage.model_links import dataset_model_link
from ..lineage.queue import queue_status, queue_status_recent
from ..lineage.scopes import check_event_namespaces
from ..lineage.validation import LineageEventInvalid, parse_body
from ..models import Dataset, DatasetField, DatasetSymlink


class LineageAcceptedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    applied = serializers.BooleanField(help_text="Already applied to the graph (false: waiting in the queue).")
    queue = serializers.DictField(help_text="The queue after this event: pending, oldest_age_seconds, …")
    event_hash = serializers.CharField(help_text="SHA-256 of the event's canonical JSON: its id in Keel.")
    kind = serializers.ChoiceField(choices=["run", "job", "dataset"])
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="What the event created or touched.")
    warnings = serializers.ListField(child=serializers.CharField(), help_text="Facet problems that were tolerated.")
    refused = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Model links, and facets of datasets linked to another team's model, not applied for this "
        "caller, and why (the event is stored all the same).",
    )


class LineageRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


def received_event(request, *, token: ApiToken | None) -> tuple[object, list[str]]:
    """The body of `request` (Django's HttpRequest) as an event this caller may post, with its bulky facets
    cut down, and the notes of the cuts; or LineageEventInvalid / limits.BodyTooLarge /
    scopes.NamespaceOutOfScope. `token`: the API token the request authenticated with (None: a session).
    The body is read from the stream here, under the lineage limit (Django's `request.body` would apply
    the API's)."""
    limit = settings.KEEL_LINEAGE_MAX_BODY_BYTES
    raw = limits.read_limited(request.read, limit)
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() in ("gzip", "x-gzip"):
        try:
            raw = limits.gunzip(raw, limit)
        except limits.BodyUnreadable as exc:
            raise LineageEventInvalid([str(exc)], code="malformed_body") from None
    payload = parse_body(raw)
    check_event_namespaces(payload, token=token)
    return limits.trim_bulky_facets(payload, settings.KEEL_LINEAGE_FACET_MAX_BYTES)


def refusal_body(exc: Exception) -> dict | None:
    """The 400 body of an event refused before it was stored (what the view catches itself), or None."""
    if isinstance(exc, limits.BodyTooLarge):
        message = str(exc)
        return {"detail": message, "code": "request_too_large", "reasons": [message]}
    if isinstance(exc, LineageEventInvalid):
        return {"detail": exc.message, "code": exc.code, "reasons": exc.reasons or [exc.message]}
    return None


def ingest(request, *, user, token: ApiToken | None) -> tuple[dict, int]:
    """The POST's work, shared by LineageView and the lean path in front of it (lineage_fast.py): the
    answer's body and status; LineageEventInvalid / BodyTooLarge for a refused event, other errors raised."""
    payload, notes = received_event(request, token=token)
    result = lineage_event_post(payload=payload, by=user)
    event = result.event
    body = {
        "status": result.status,  # "accepted": stored durably, applied now or by the worker
        "applied": result.applied,
        "event_hash": event.event_hash,
        "kind": event.kind,
        "counts": result.counts,  # {} until applied
        "warnings": notes + result.warnings,
        "queue": queue_status_recent().as_dict(),  # at most a second old
    }
    # The model links (and facets of datasets linked to another team's model) ingest refused for this
    # caller, and why: the event is stored all the same (governance/lineage/model_links.py).
    if result.status == "accepted":
        body["refused"] = model_links.refusals_for(model_links.documents_of(event.payload), user)
    return body, status.HTTP_201_CREATED if result.status == "accepted" else status.HTTP_200_OK


class LineageView(PostOnlyAPIView):
    """Take one OpenLineage event (Marquez's POST /api/v1/lineage)."""

    read_roles = ()
    write_roles = INGEST_ROLES

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            201: LineageAcceptedSerializer,
            200: LineageAcceptedSerializer,
            400: LineageRefusedSerializer,
            403: OpenApiResponse(
                description="The caller may not post lineage, or (code namespace_out_of_scope) not to the "
                "namespaces the event writes: its job's (or dataset's) and its outputs'."
            ),
        },
        operation_id="lineage_ingest",
    )
    def post(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            body, code = ingest(request._request, user=request.user, token=token)
        except (limits.BodyTooLarge, LineageEventInvalid) as exc:
            return Response(refusal_body(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=code)


class LineageStatusSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text="When these figures were read.")
    pending = serializers.IntegerField(help_text="Events stored and not yet applied to the graph.")
    oldest_received_at = serializers.DateTimeField(allow_null=True)
    oldest_age_seconds = serializers.FloatField(allow_null=True, help_text="How far behind the graph is.")
    last_applied_at = serializers.DateTimeField(allow_null=True, help_text="When the last batch was applied.")


class LineageStatusView(APIView):
    """How far the applied lineage graph is behind what producers sent (GET /api/v1/lineage/status)."""

    read_roles = roles.ALL_ROLES
    write_roles = ()

    @extend_schema(responses={200: LineageStatusSerializer}, operation_id="lineage_status")
    def get(self, request):
        return Response(queue_status().as_dict())


# --- datasets ------------------------------------------------------------------------------------


class DatasetFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetField
        fields = ["id", "name", "data_type", "description"]
        read_only_fields = fields


class DatasetSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="dataset-detail")
    fields = DatasetFieldSerializer(many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    model_version_name = serializers.SerializerMethodField()
    upstream = serializers.SerializerMethodField(help_text="Ids of the datasets this one is derived from.")
    downstream = serializers.SerializerMethodField(help_text="Ids of the datasets derived from this one.")

    class Meta:
        model = Dataset
        fields = [
            "id", "url", "namespace", "name", "dataset_type", "symlinks", "fields", "upstream", "downstream",
            "model_version", "model_version_name", "model_link_source", "owner", "legal_basis", "art9_condition",
            "retention_days", "facets", "first_seen_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_model_version_name(self, ds) -> str | None:
        return str(ds.model_version) if ds.model_version_id else None

    def get_upstream(self, ds) -> list[int]:
        return selectors.upstream_ids(ds)

    def get_downstream(self, ds) -> list[int]:
        return selectors.downstream_ids(ds)


class DatasetModelLinkSerializer(serializers.Serializer):
    model_version = serializers.PrimaryKeyRelatedField(
        queryset=ModelVersion.objects.none(),
        allow_null=True,
        help_text="Id of the registry model version this dataset is (null to unlink).",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = model_versions_for_user(user=user)


class DatasetFilterSet(django_filters.FilterSet):
    """namespace / name match a dataset's own identity or one of its symlinks."""

    namespace = django_filters.CharFilter(method="filter_identity")
    name = django_filters.CharFilter(method="filter_identity")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    type = django_filters.CharFilter(field_name="dataset_type", lookup_expr="iexact", label="Dataset type")
    model_version = IdFilter(field_name="model_version_id", label="Model version id")

    class Meta:
        model = Dataset
        fields = ["namespace", "name", "q", "type", "model_version"]

    def filter_identity(self, queryset, name, value):
        return queryset  # applied together in filter_queryset: the pair must match the same identity

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        namespace, name = self.form.cleaned_data.get("namespace"), self.form.cleaned_data.get("name")
        if namespace and name:
            return queryset.filter(selectors.identifier_q(namespace, name))
        for key, value in (("namespace", namespace), ("name", name)):
            if value:
                aliases = DatasetSymlink.objects.filter(**{key: value}).values("dataset_id")
                queryset = queryset.filter(**{key: value}) | queryset.filter(pk__in=aliases)
        return queryset


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """The data inventory: datasets with their fields and direct upstream/downstream datasets. Every
    role reads all of it; `link-model` links a dataset to a registry model version by hand."""

    serializer_class = DatasetSerializer
    filterset_class = DatasetFilterSet
    read_roles = roles.ALL_ROLES
    write_roles = ()
    link_model_roles = (Role.ADMIN, Role.RISK_OFFICER, Role.TEAM_LEAD)

    def get_queryset(self):
        return selectors.datasets_for_user(user=self.request.user)

    @extend_schema(
        request=DatasetModelLinkSerializer,
        responses={200: DatasetSerializer, 400: OpenApiResponse(description="Unknown model version.")},
    )
    @action(detail=True, methods=["post"], url_path="link-model")
    def link_model(self, request, pk=None):
        """Link the dataset to a model version (team lead of the version's project, risk officer, admin)."""
        dataset = self.get_object()
        serializer = DatasetModelLinkSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        dataset_model_link(dataset=dataset, model_version=serializer.validated_data["model_version"], by=request.user)
        fresh = self.get_queryset().get(pk=dataset.pk)
        return Response(DatasetSerializer(fresh, context=self.get_serializer_context()).data)
