"""/api/v1/findings/: what someone must act on, opened and resolved by rules; triaged by risk officers.

Everyone with a role reads the findings in their scope (a team lead: their teams' projects'),
open ones first. Risk officers and admins assign them and resolve them by hand (e.g. a false
positive); the rule that opened a finding resolves it itself when the cause goes.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from core import roles
from core.api.columns import list_columns
from core.api.fields import ChoiceLabelField, IdentityUrlField
from core.api.rows import RowListMixin

from ..findings import services
from ..findings.filters import FindingFilterSet
from ..findings.permissions import FINDING_MANAGERS, can_manage_findings
from ..findings.selectors import finding_assignees, findings_for_user
from ..findings.subjects import finding_subject
from ..models import Finding, FindingKind

ALL_ROLES = roles.ALL_ROLES
# subject_type → the API route of that kind of subject
SUBJECT_ROUTES = {"governance.risk": "risk-detail", "projects.registeredmodel": "registered-model-detail"}


class FindingSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="finding-detail")
    kind_label = ChoiceLabelField(source="kind", choices=FindingKind.choices)
    subject_url = serializers.SerializerMethodField(help_text="The API address of what the finding is about.")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    project_name = serializers.CharField(source="project.name", read_only=True, allow_null=True, default=None)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True, help_text="Open and past its due date.")
    subject_label = serializers.SerializerMethodField(help_text='What the finding is about, e.g. "Sign-off #12".')
    subject_page = serializers.SerializerMethodField(
        help_text="The Keel page where the subject is acted on (null when there is none)."
    )

    class Meta:
        model = Finding
        fields = [
            "id", "url", "kind", "kind_label", "severity", "title", "detail", "subject_type", "subject_id",
            "subject_url", "subject_label", "subject_page", "project", "project_name", "assignee", "opened_at",
            "due_at", "is_overdue", "resolved_at", "resolution", "is_open",
        ]  # fmt: skip
        read_only_fields = fields

    def _subject(self, finding):
        """finding_subject(finding), made once for the row's two keys (label, then page): the row's last
        finding and its subject are kept (a row reads the label first; a page of 50 made each twice)."""
        last = getattr(self, "_last_subject", None)
        if last is not None and last[0] is finding:
            return last[1]
        subject = finding_subject(finding)
        self._last_subject = (finding, subject)
        return subject

    def get_subject_label(self, finding) -> str:
        return self._subject(finding).label

    def get_subject_page(self, finding) -> str | None:
        url = self._subject(finding).url
        request = self.context.get("request")
        if not url:
            return None
        return request.build_absolute_uri(url) if request is not None else url

    def get_subject_url(self, finding) -> str | None:
        route = SUBJECT_ROUTES.get(finding.subject_type)
        if route is None:
            return None
        return reverse(route, kwargs={"pk": finding.subject_id}, request=self.context.get("request"))


class FindingAssignSerializer(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=finding_assignees(),
        allow_null=True,
        help_text="Username of an active user with a role; null to unassign.",
    )


class FindingResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=300, help_text="How the finding was resolved.")


class FindingViewSet(RowListMixin, viewsets.ReadOnlyModelViewSet):
    """Findings, open first, worst first. `assign` and `resolve` are for risk officers and admins."""

    serializer_class = FindingSerializer
    filterset_class = FindingFilterSet
    read_roles = ALL_ROLES
    write_roles = ()
    assign_roles = resolve_roles = FINDING_MANAGERS

    def get_queryset(self):
        qs = findings_for_user(user=self.request.user)
        if self.action == "list":  # the row shows its project's slug and name (subjects.py reads no more)
            qs = qs.only(*list_columns(Finding, "project__slug", "project__name", "project__team__slug",
                                       "assignee__username"))  # fmt: skip
        return qs

    def can_write_object(self, user, obj):
        return can_manage_findings(user)

    def _out(self, finding: Finding) -> dict:
        return FindingSerializer(self.get_queryset().get(pk=finding.pk), context=self.get_serializer_context()).data

    @extend_schema(request=FindingAssignSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the finding to someone (or to nobody)."""
        finding = self.get_object()
        serializer = FindingAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.finding_assign(by=request.user, finding=finding, **serializer.validated_data)
        return Response(self._out(finding))

    @extend_schema(request=FindingResolveSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve the finding by hand, saying how; an already resolved finding answers 400."""
        finding = self.get_object()
        serializer = FindingResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.finding_resolve(by=request.user, finding=finding, **serializer.validated_data)
        return Response(self._out(finding))
