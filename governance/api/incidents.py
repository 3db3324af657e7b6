"""/api/v1/incidents/: the incident register (EU AI Act Art. 73 serious incidents, and ordinary ones).

Everyone with a role reads the incidents in their scope (a team lead: those touching their teams'
projects). Risk officers, compliance officers, admins and team leads (on their own projects) open
incidents, add timeline notes and corrective actions; only the first three assess an incident as not
serious, record the report to the authority and close it. The reporting deadline is computed from the
seriousness and the moment of awareness, with the rule it comes from.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.fields import ChoiceLabelField, IdentityUrlField, InstantField, ScopedSlugRelatedField
from projects.api.inventory import UserRefField
from projects.inventory.selectors import projects_for_user
from projects.registries.selectors import model_versions_for_user

from ..findings.selectors import findings_for_user
from ..incidents import services
from ..incidents.filters import IncidentFilterSet
from ..incidents.permissions import INCIDENT_MANAGERS, INCIDENT_OPENERS, can_work_on_incident
from ..incidents.selectors import incidents_for_user
from ..models import CorrectiveAction, Incident, IncidentNote, Seriousness, Severity

ALL_ROLES = roles.ALL_ROLES


class IncidentNoteSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentNote
        fields = ["id", "at", "author", "text"]
        read_only_fields = fields


class CorrectiveActionSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = CorrectiveAction
        fields = ["id", "description", "owner", "due_on", "done_at", "is_overdue"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="incident-detail")
    severity_label = ChoiceLabelField(source="severity", choices=Severity.choices)
    seriousness_label = ChoiceLabelField(source="seriousness", choices=Seriousness.choices)
    projects = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    model_versions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    finding = serializers.PrimaryKeyRelatedField(read_only=True)
    opened_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_serious = serializers.BooleanField(read_only=True)
    report_outstanding = serializers.BooleanField(
        read_only=True, help_text="A report is (or may be) due and none is recorded."
    )
    report_overdue = serializers.BooleanField(read_only=True)
    notes = IncidentNoteSerializer(many=True, read_only=True)
    actions = CorrectiveActionSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "url", "title", "description", "severity", "severity_label", "seriousness", "seriousness_label",
            "is_serious", "status", "projects", "model_versions", "finding", "aware_at", "report_due_at",
            "report_rule", "report_provisional", "report_outstanding", "report_overdue", "reported_at",
            "report_reference", "root_cause", "opened_by", "opened_at", "closed_at", "notes", "actions",
        ]  # fmt: skip
        read_only_fields = fields


class IncidentUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=20000)
    severity = serializers.ChoiceField(choices=Severity.choices)
    seriousness = serializers.ChoiceField(choices=Seriousness.choices, required=False)
    aware_at = InstantField(
        help_text="When the organisation became aware of the incident; the reporting clock starts then."
    )
    root_cause = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    projects = ScopedSlugRelatedField(scope=projects_for_user, many=True, help_text="Slugs of the affected projects.")
    model_versions = ScopedSlugRelatedField(
        scope=model_versions_for_user,
        slug_field="pk",
        many=True,
        required=False,
        help_text="Ids of affected model versions.",
    )


class IncidentCreateSerializer(IncidentUpdateSerializer):
    finding = ScopedSlugRelatedField(
        scope=findings_for_user, slug_field="pk", required=False, allow_null=True, help_text="The finding it came from."
    )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)


class ActionCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    owner = UserRefField(help_text="Username of who carries it out.")
    due_on = serializers.DateField()


class ReportSerializer(serializers.Serializer):
    reported_at = InstantField()
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ActionCompleteSerializer(serializers.Serializer):
    action = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The corrective action's id.")


class IncidentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Incidents, newest first. Closed incidents stay; nothing is deleted."""

    filterset_class = IncidentFilterSet
    read_roles = ALL_ROLES
    write_roles = INCIDENT_OPENERS
    note_roles = add_action_roles = complete_action_roles = INCIDENT_OPENERS
    report_roles = close_roles = INCIDENT_MANAGERS

    def get_queryset(self):
        # Every row carries its timeline and actions, in the list too: prefetched, a fixed number of queries.
        actions = Prefetch("actions", queryset=CorrectiveAction.objects.select_related("owner"))
        return incidents_for_user(user=self.request.user).prefetch_related("notes__author", actions, "model_versions")

    def get_serializer_class(self):
        return {
            "create": IncidentCreateSerializer, "partial_update": IncidentUpdateSerializer,
            "note": NoteSerializer, "add_action": ActionCreateSerializer, "complete_action": ActionCompleteSerializer,
            "report": ReportSerializer,
        }.get(self.action, IncidentSerializer)  # fmt: skip

    def can_write_object(self, user, obj):
        return can_work_on_incident(user, obj)

    def _out(self, incident: Incident, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _valid(self, request, *, partial=False) -> dict:
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request, *args, **kwargs):
        incident = services.incident_open(by=request.user, **self._valid(request))
        return self._out(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer)
    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        services.incident_update(by=request.user, incident=incident, data=self._valid(request, partial=True))
        return self._out(incident)

    @extend_schema(request=NoteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """Add an entry to the incident's timeline."""
        incident = self.get_object()
        services.incident_note_add(by=request.user, incident=incident, **self._valid(request))
        return self._out(incident)

    @extend_schema(request=ActionCreateSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="actions")
    def add_action(self, request, pk=None):
        """Add a corrective action with its owner and due date."""
        incident = self.get_object()
        services.corrective_action_add(by=request.user, incident=incident, **self._valid(request))
        return self._out(incident)

    @extend_schema(request=ActionCompleteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="complete-action")
    def complete_action(self, request, pk=None):
        """Mark one of the incident's corrective actions done."""
        incident = self.get_object()
        data = self._valid(request)
        corrective = incident.actions.filter(pk=data["action"]).first()
        if corrective is None:
            raise serializers.ValidationError({"action": ["This incident has no corrective action with that id."]})
        services.corrective_action_complete(by=request.user, action=corrective)
        return self._out(incident)

    @extend_schema(request=ReportSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        """Record the report made to the market surveillance authority (when, and its reference)."""
        incident = self.get_object()
        services.incident_report_record(by=request.user, incident=incident, **self._valid(request))
        return self._out(incident)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the incident: assessed, reported if serious, root cause recorded, every action done."""
        incident = self.get_object()
        services.incident_close(by=request.user, incident=incident)
        return self._out(incident)
