"""/api/v1/risks/ and /api/v1/mitigations/: the risk register over HTTP.

Same rules as the pages: everyone with a role reads the risks in their scope; team leads change
the registers of their own teams' projects, risk officers and admins every register; only a risk
officer accepts a high or critical residual risk. Every write is one service call (audited there).
"""

from __future__ import annotations

from django.db.models import F, Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.columns import list_columns
from core.api.fields import ChoiceLabelField, IdentityUrlField, ScopedSlugRelatedField
from core.api.rows import RowListMixin
from core.dates import validate_date
from core.errors import DomainError
from projects.api.inventory import UserRefField
from projects.inventory.selectors import projects_for_user

from ..models import RISK_TRANSITIONS, Mitigation, MitigationStatus, Risk, RiskCategory, RiskStatus
from ..risks import scoring, services
from ..risks.filters import MitigationFilterSet, RiskFilterSet
from ..risks.permissions import RISK_WRITERS, can_edit_risks
from ..risks.selectors import mitigations_for_user, risks_for_user

ALL_ROLES = roles.ALL_ROLES
# What a risk's row shows of its project, team, owner and acceptor.
RISK_ROW_RELATED = (
    "project__slug", "project__name", "project__risk_tier", "project__team__slug", "owner__username",
    "accepted_by__username",
)  # fmt: skip
# Where a risk read through RiskViewSet.get_queryset() holds its mitigations, in order: a list (to_attr),
# where a prefetch into the manager built a filtered queryset per risk (~1 ms of a 50-risk page).
MITIGATIONS_SHOWN = "mitigations_shown"
RISK_STATUS_ORDER = tuple(RiskStatus.values)  # once: `.values` builds its list from the enum on every read
RISK_NOT_DELETED = (
    "Risks are not deleted, so the register keeps its history: close the risk instead "
    '(POST /api/v1/risks/{id}/transition/ with status "closed" and a justification).'
)


# --- serializers ----------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 5})
class ScaleField(serializers.Field):
    """A whole number from 1 to 5, refused with the same message the pages show (scoring.OUT_OF_SCALE)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().isdigit():
            data = int(data)
        try:
            return scoring.check_scale(self.label, data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value):
        return value


class MitigationSerializer(serializers.ModelSerializer):
    """A mitigation as read; `overdue` is a planned or running action past its due date."""

    url = IdentityUrlField(view_name="mitigation-detail")
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Mitigation
        fields = ["id", "url", "risk", "action", "owner", "due_date", "status", "overdue", "created_at", "updated_at"]
        read_only_fields = fields

    def get_overdue(self, mitigation) -> bool:
        open_ = mitigation.status in (MitigationStatus.PLANNED, MitigationStatus.IN_PROGRESS)
        return bool(open_ and mitigation.due_date and mitigation.due_date < timezone.localdate())


class MitigationCreateSerializer(serializers.Serializer):
    risk = serializers.PrimaryKeyRelatedField(queryset=Risk.objects.none(), help_text="The risk's id.")
    action = serializers.CharField(max_length=300)
    owner = UserRefField(required=False, help_text="Username; defaults to the caller.")
    due_date = serializers.DateField(required=False, allow_null=True, validators=[validate_date])
    status = serializers.ChoiceField(choices=MitigationStatus.choices, required=False)

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        # Only risks the caller may see; another team's risk id reads as unknown.
        fields["risk"].queryset = risks_for_user(user=request.user) if request else Risk.objects.none()
        return fields


class MitigationUpdateSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=300)
    owner = UserRefField()
    due_date = serializers.DateField(required=False, allow_null=True, validators=[validate_date])
    status = serializers.ChoiceField(choices=MitigationStatus.choices)


class RiskSerializer(serializers.ModelSerializer):
    """A risk as read, with how each score was computed (scoring.explain) and its NIST AI RMF functions."""

    url = IdentityUrlField(view_name="risk-detail")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    project_tier = serializers.CharField(
        source="project.risk_tier", read_only=True, help_text='The EU AI Act tier ("" = not assessed yet).'
    )
    team = serializers.CharField(source="project.team.slug", read_only=True)
    category_label = ChoiceLabelField(source="category", choices=RiskCategory.choices)
    nist_functions = serializers.ListField(child=serializers.CharField(), read_only=True)
    inherent_level = serializers.CharField(read_only=True)
    inherent_computation = serializers.SerializerMethodField()
    residual_computation = serializers.SerializerMethodField()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    accepted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    allowed_transitions = serializers.SerializerMethodField()
    overdue = serializers.BooleanField(source="review_overdue", read_only=True)
    acceptance_expired = serializers.BooleanField(
        read_only=True, help_text="Accepted until a day that has passed: the acceptance must be made again."
    )
    mitigations = MitigationSerializer(source=MITIGATIONS_SHOWN, many=True, read_only=True)

    class Meta:
        model = Risk
        fields = [
            "id", "url", "project", "project_name", "project_tier", "team", "title", "description", "category",
            "category_label", "nist_functions", "likelihood", "impact", "inherent_score", "inherent_level",
            "inherent_computation", "residual_likelihood", "residual_impact", "residual_score", "residual_level",
            "residual_computation", "residual_justification", "owner", "status", "allowed_transitions",
            "acceptance_justification", "accepted_by", "accepted_at", "acceptance_expires_on", "acceptance_expired",
            "next_review_date", "last_reviewed_at",
            "overdue", "mitigations", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_inherent_computation(self, risk) -> str:
        return scoring.explain(risk.likelihood, risk.impact)

    def get_residual_computation(self, risk) -> str:
        return scoring.explain(risk.residual_likelihood, risk.residual_impact)

    def get_allowed_transitions(self, risk) -> list[str]:
        return [s for s in RISK_STATUS_ORDER if s in RISK_TRANSITIONS[risk.status]]


class RiskUpdateSerializer(serializers.Serializer):
    """Change a risk's facts; its status moves only through the transition action."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=RiskCategory.choices)
    likelihood = ScaleField(label="Likelihood")
    impact = ScaleField(label="Impact")
    residual_likelihood = ScaleField(label="Residual likelihood", required=False)
    residual_impact = ScaleField(label="Residual impact", required=False)
    residual_justification = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when the residual score is above the inherent one."
    )
    owner = UserRefField(required=False)


class RiskCreateSerializer(RiskUpdateSerializer):
    """A new risk of a project (its slug). The residual likelihood and impact default to the inherent ones."""

    project = ScopedSlugRelatedField(scope=projects_for_user)


class RiskTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RiskStatus.choices)
    justification = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to accept a risk; a risk officer's for a high or critical residual level.",
    )
    accept_until = serializers.DateField(
        required=False,
        validators=[validate_date],
        allow_null=True,
        default=None,
        help_text="Accepting: the last day the acceptance holds (after today, at most 3 years ahead); required "
        "for a high or critical residual level. Accepting an accepted risk renews it.",
    )


class RiskReviewSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- views ----------------------------------------------------------------------------------------


class RiskViewSet(RowListMixin, viewsets.ModelViewSet):
    """The risk register. Risks move through `transition` and are reviewed through `review`; they are
    closed, never deleted."""

    filterset_class = RiskFilterSet
    read_roles = ALL_ROLES
    write_roles = RISK_WRITERS
    transition_roles = review_roles = RISK_WRITERS

    def get_queryset(self):
        mitigations = Mitigation.objects.select_related("owner").order_by(F("due_date").asc(nulls_last=True), "id")
        shown = Prefetch("mitigations", queryset=mitigations, to_attr=MITIGATIONS_SHOWN)
        qs = risks_for_user(user=self.request.user).prefetch_related(shown)
        if self.action == "list":
            qs = qs.only(*list_columns(Risk, *RISK_ROW_RELATED))
        return qs

    def get_serializer_class(self):
        return {
            "create": RiskCreateSerializer,
            "update": RiskUpdateSerializer,
            "partial_update": RiskUpdateSerializer,
            "transition": RiskTransitionSerializer,
            "review": RiskReviewSerializer,
        }.get(self.action, RiskSerializer)

    def can_write_object(self, user, obj):
        return can_edit_risks(user, obj.project)

    def _out(self, risk: Risk) -> dict:
        return RiskSerializer(self.get_queryset().get(pk=risk.pk), context=self.get_serializer_context()).data

    @extend_schema(request=RiskCreateSerializer, responses={201: RiskSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        risk = services.risk_create(by=request.user, **serializer.validated_data)
        return Response(self._out(risk), status=status.HTTP_201_CREATED)

    @extend_schema(request=RiskUpdateSerializer, responses=RiskSerializer)
    def update(self, request, *args, **kwargs):
        risk = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.risk_update(by=request.user, risk=risk, **serializer.validated_data)
        return Response(self._out(risk))

    @extend_schema(request=RiskUpdateSerializer, responses=RiskSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={400: OpenApiResponse(description="Refused: risks are closed, not deleted.")})
    def destroy(self, request, *args, **kwargs):
        """Refused for every risk: a closed risk keeps its scores, mitigations and reviews on record."""
        self.get_object()  # scope (404) and the object rule (403) answer first
        raise DomainError(RISK_NOT_DELETED, code="not_deletable")

    @extend_schema(request=RiskTransitionSerializer, responses=RiskSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move the risk to another status (open → mitigating → accepted | closed; reopening allowed)."""
        risk = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.risk_transition(by=request.user, risk=risk, **serializer.validated_data)
        return Response(self._out(risk))

    @extend_schema(request=RiskReviewSerializer, responses=RiskSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Record a review: the next review date moves on by the residual level's cadence."""
        risk = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.risk_review(by=request.user, risk=risk, **serializer.validated_data)
        return Response(self._out(risk))


class MitigationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Mitigations of the risks in the caller's scope. Created and changed by whoever may edit the
    risk; a mitigation is cancelled (status), not deleted."""

    filterset_class = MitigationFilterSet
    read_roles = ALL_ROLES
    write_roles = RISK_WRITERS

    def get_queryset(self):
        return mitigations_for_user(user=self.request.user).order_by(
            "risk_id", F("due_date").asc(nulls_last=True), "id"
        )

    def get_serializer_class(self):
        return {
            "create": MitigationCreateSerializer,
            "update": MitigationUpdateSerializer,
            "partial_update": MitigationUpdateSerializer,
        }.get(self.action, MitigationSerializer)

    def can_write_object(self, user, obj):
        return can_edit_risks(user, obj.risk.project)

    def _out(self, mitigation: Mitigation) -> dict:
        fresh = self.get_queryset().get(pk=mitigation.pk)
        return MitigationSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=MitigationCreateSerializer, responses={201: MitigationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mitigation = services.mitigation_create(by=request.user, **serializer.validated_data)
        return Response(self._out(mitigation), status=status.HTTP_201_CREATED)

    @extend_schema(request=MitigationUpdateSerializer, responses=MitigationSerializer)
    def update(self, request, *args, **kwargs):
        mitigation = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.mitigation_update(by=request.user, mitigation=mitigation, **serializer.validated_data)
        return Response(self._out(mitigation))

    @extend_schema(request=MitigationUpdateSerializer, responses=MitigationSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
