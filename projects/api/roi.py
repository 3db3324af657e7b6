"""/api/v1/roi-entries/ and /api/v1/fx-rates/: the ROI ledger and the FX-rate table.

Reads are scoped like the projects (team leads their teams' ledgers; executives, risk officers and
admins every one). Writes go through projects/roi/services.py: team leads of the project's team and
admins log entries; admins alone set FX rates. The bulk endpoint validates every row before saving
any, exactly like a file upload.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from core import roles
from core.api.columns import list_columns
from core.api.fields import ScopedSlugRelatedField
from core.api.pagination import IdsFirstPageNumberPagination
from core.api.rows import RowListMixin
from core.dates import validate_month
from core.roles import Role, is_admin

from ..inventory.selectors import projects_for_user
from ..models import FxRate, RoiBasis, RoiCategory, ROIEntry, ROIEntryDeletion, RoiKind
from ..permissions import can_change_project
from ..roi import import_service as roi_import_service
from ..roi import services as roi_services
from ..roi.filters import FxRateFilterSet, ROIEntryFilterSet
from ..roi.import_service import BAD_MONTH, RoiImportError
from ..roi.importer import MAX_ROWS, ImportRow, month_from_cell
from ..roi.selectors import roi_entries_for_user

ALL_ROLES = roles.ALL_ROLES
WRITER_ROLES = (Role.TEAM_LEAD, Role.ADMIN)
BULK_TOO_MANY = f"Send at most {MAX_ROWS} rows at once."


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-11"})
class MonthField(serializers.Field):
    """A calendar month as "YYYY-MM" (a first-of-month date "YYYY-MM-01" is accepted too)."""

    default_error_messages = {"invalid": BAD_MONTH}
    default_validators = [validate_month]
    row_value_only = True  # core.api.rows: the output depends on the value alone

    def to_representation(self, value):
        return f"{value:%Y-%m}"

    def row_converter(self):
        """For core.api.rows: the output depends on the value alone. A date's ISO form starts with what
        strftime's "%Y-%m" makes of a year of four digits, in a seventh of the time (2.2 µs a value)."""
        slow = self.to_representation

        def convert(value):
            if value.__class__ is dt.date and value.year >= 1000:
                return value.isoformat()[:7]
            return slow(value)

        return convert

    def to_internal_value(self, data):
        month = month_from_cell(data) if isinstance(data, str) else None
        if month is None:
            self.fail("invalid")
        return month


class ROIEntrySerializer(serializers.ModelSerializer):
    """One ledger entry as the API shows it; amount_reporting is in reporting_currency."""

    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    month = MonthField()
    logged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reporting_currency = serializers.SerializerMethodField()

    class Meta:
        model = ROIEntry
        fields = [
            "id", "project", "month", "kind", "category", "basis", "amount", "currency", "amount_reporting",
            "reporting_currency", "evidence_url", "note", "logged_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_reporting_currency(self, obj) -> str:
        return settings.KEEL_REPORTING_CURRENCY


class ROIEntryUpdateSerializer(serializers.Serializer):
    """What PUT/PATCH may change (the project stays; move an amount by deleting and logging it again)."""

    month = MonthField()
    kind = serializers.ChoiceField(choices=RoiKind.choices)
    category = serializers.ChoiceField(choices=RoiCategory.choices)
    basis = serializers.ChoiceField(choices=RoiBasis.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    evidence_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ROIEntryCreateSerializer(ROIEntryUpdateSerializer):
    """Log one amount. currency defaults to the project's business-case currency."""

    project = ScopedSlugRelatedField(scope=projects_for_user)


class ROIBulkSerializer(serializers.Serializer):
    """Rows with the import file's columns (project, month, kind, category, basis, amount, currency,
    evidence_url, note). With `project`, every row belongs to it and may leave its project blank."""

    project = ScopedSlugRelatedField(scope=projects_for_user, required=False, allow_null=True)
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=MAX_ROWS)


BULK_RESULT = inline_serializer(
    "ROIBulkResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "ids": serializers.ListField(child=serializers.IntegerField()),
    },
)
BULK_ERRORS = inline_serializer(
    "ROIBulkErrors",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        # Two refusals share the key: the import's (code `invalid_rows`: one {row, errors} per bad row) and the
        # input's own (code `invalid`: the messages about the rows field, or about each row by its 0-based index).
        "rows": serializers.JSONField(
            required=False,
            help_text="invalid_rows: a list of {row (1-based), errors}. invalid: the messages about the rows field "
            "(a list), or about rows that are not objects (an object keyed by 0-based position).",
        ),
    },
)


NO_DELETED_ENTRY = "No deleted ROI entry with this id that you may restore."


class ROIEntryViewSet(RowListMixin, viewsets.ModelViewSet):
    """ROI ledger entries. PUT/PATCH re-convert the amount at the current FX rate."""

    filterset_class = ROIEntryFilterSet
    # Sorted by project slug within a month, which no index of the entries holds in order.
    pagination_class = IdsFirstPageNumberPagination
    read_roles = ALL_ROLES
    write_roles = WRITER_ROLES
    bulk_roles = WRITER_ROLES

    def get_queryset(self):
        qs = roi_entries_for_user(user=self.request.user)
        if self.action == "list":
            qs = qs.only(*list_columns(ROIEntry, "project__slug", "logged_by__username"))
        return qs.order_by("-month", "project__slug", "kind", "category", "basis", "id")

    def get_serializer_class(self):
        if self.action == "create":
            return ROIEntryCreateSerializer
        if self.action in ("update", "partial_update"):
            return ROIEntryUpdateSerializer
        if self.action == "bulk":
            return ROIBulkSerializer
        return ROIEntrySerializer

    def can_write_object(self, user, obj):
        return can_change_project(user, obj.project)

    def _out(self, entry, code=status.HTTP_200_OK):
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(ROIEntrySerializer(entry, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=ROIEntryCreateSerializer, responses={201: ROIEntrySerializer})
    def create(self, request, *args, **kwargs):
        serializer = ROIEntryCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        entry = roi_services.roi_entry_create(by=request.user, **serializer.validated_data)
        return self._out(entry, status.HTTP_201_CREATED)

    @extend_schema(request=ROIEntryUpdateSerializer, responses=ROIEntrySerializer)
    def update(self, request, *args, **kwargs):
        entry = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = ROIEntryUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        entry = roi_services.roi_entry_update(by=request.user, entry=entry, **serializer.validated_data)
        return self._out(entry)

    @extend_schema(request=ROIEntryUpdateSerializer, responses=ROIEntrySerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        """The entry is kept in a deletion record: POST {id}/restore/ undoes the deletion."""
        roi_services.roi_entry_delete(by=self.request.user, entry=instance)

    @extend_schema(request=None, responses={201: ROIEntrySerializer})
    @action(detail=False, methods=["post"], url_path=r"(?P<entry_id>[0-9]+)/restore")
    def restore(self, request, entry_id=None):
        """Undo the deletion of entry {id}: it comes back as it was, under the same id (201). Refused (409)
        if its month, category and basis were logged again since (nothing is overwritten) or it was
        restored already; 404 if no deleted entry with that id is in your scope."""
        deletion = (
            ROIEntryDeletion.objects.filter(
                entry_id=entry_id, project__in=projects_for_user(user=request.user), restored_at=None
            )
            .order_by("-deleted_at", "-pk")
            .first()
        )
        if deletion is None:
            raise NotFound(NO_DELETED_ENTRY)
        entry = roi_services.roi_entry_restore(by=request.user, deletion=deletion)
        return self._out(entry, status.HTTP_201_CREATED)

    @extend_schema(
        request=ROIBulkSerializer,
        responses={
            200: BULK_RESULT,
            400: OpenApiResponse(BULK_ERRORS, description="Refused input or bad rows; nothing saved"),
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Log many entries at once, all or nothing: if any row is bad, none is saved and every bad row
        is listed (`row` is its 1-based position). Rows upsert on (project, month, kind, category,
        basis), so sending the same rows twice does not double them."""
        serializer = ROIBulkSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        rows = [ImportRow(line=i, values=row) for i, row in enumerate(serializer.validated_data["rows"], start=1)]
        try:
            result = roi_import_service.roi_entries_import(
                project_or_none=serializer.validated_data.get("project"), rows=rows, by=request.user
            )
        except RoiImportError as exc:
            body = {
                "detail": exc.message,
                "code": exc.code,
                "rows": [{"row": r["line"], "errors": r["errors"]} for r in exc.rows],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "ids": [e.pk for e in result.entries],
            }
        )


class FxRateSerializer(serializers.ModelSerializer):
    """1 unit of `currency` = `rate` units of the reporting currency, in `month`."""

    month = MonthField()
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FxRate
        fields = ["id", "currency", "month", "rate", "updated_at", "updated_by"]
        read_only_fields = ["id", "updated_at", "updated_by"]
        # Upserts on (currency, month) go through the service; no model-level unique check here.
        validators = []


class FxRateUpdateSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=18, decimal_places=8)


class FxRateViewSet(viewsets.ModelViewSet):
    """FX rates. Everyone reads them; admins set them. POST upserts on (currency, month); changing a
    rate re-converts every entry of that currency and month. A rate in use cannot be deleted."""

    filterset_class = FxRateFilterSet
    read_roles = ALL_ROLES
    write_roles = (Role.ADMIN,)

    def get_queryset(self):
        return FxRate.objects.select_related("updated_by").order_by("-month", "currency")

    def get_serializer_class(self):
        return FxRateUpdateSerializer if self.action in ("update", "partial_update") else FxRateSerializer

    def can_write_object(self, user, obj):
        return is_admin(user)

    @extend_schema(request=FxRateSerializer, responses={201: FxRateSerializer})
    def create(self, request, *args, **kwargs):
        serializer = FxRateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fx = roi_services.fx_rate_set(by=request.user, **serializer.validated_data)
        return Response(FxRateSerializer(fx).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FxRateUpdateSerializer, responses=FxRateSerializer)
    def update(self, request, *args, **kwargs):
        fx = self.get_object()
        serializer = FxRateUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fx = roi_services.fx_rate_set(
            by=request.user, currency=fx.currency, month=fx.month, **serializer.validated_data
        )
        return Response(FxRateSerializer(fx).data)

    @extend_schema(request=FxRateUpdateSerializer, responses=FxRateSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        roi_services.fx_rate_delete(by=self.request.user, fx=instance)
