"""/api/v1/signoffs/ and /api/v1/signoff-policies/: sign-off requests and who must approve them.

Everyone with a role reads the requests in their scope. A team lead requests sign-off for a model
version of their team's project (POST with the version's id); reviewers holding a role the policy
asks for approve, reject or request changes (`POST …/{id}/approve/` etc.). Refusals answer 403
(separation of duties, wrong role) or 409 (the request is no longer pending) and are audited.
`queue/` lists what waits for the caller, oldest first.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.fields import IdentityUrlField
from projects.models import ModelVersion
from projects.registries.selectors import model_versions_for_user

from ..models import MetricRequirement, SignOffDecision, SignOffPolicy, SignOffRequest, SignOffStatus, Verdict
from ..models.signoff import REVIEWER_ROLE_CHOICES
from ..signoff import fingerprint as fp
from ..signoff import services
from ..signoff.eligibility import approvals_outstanding, missing_roles
from ..signoff.permissions import POLICY_PUBLISHERS, REQUESTERS
from ..signoff.selectors import review_queue_for_user, signoffs_for_user

ALL_ROLES = roles.ALL_ROLES


class SignOffDecisionSerializer(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = SignOffDecision
        fields = ["id", "reviewer", "role", "verdict", "comment", "decided_at"]
        read_only_fields = fields


class MetricRequirementSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricRequirement
        fields = ["metric", "direction", "threshold", "dataset_name"]
        extra_kwargs = {"dataset_name": {"required": False}}


class SignOffPolicySerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="signoff-policy-detail")
    metric_requirements = MetricRequirementSerializer(
        many=True, required=False, help_text="Metrics a version must reach, e.g. auc >= 0.75 (direction higher)."
    )
    required_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=REVIEWER_ROLE_CHOICES),
        help_text="Reviewer roles that must each approve, by different people.",
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = SignOffPolicy
        fields = [
            "id", "url", "tier", "version", "required_roles", "min_approvers", "recertify_days", "approvable", "note",
            "metric_requirements", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "url", "version", "created_by", "created_at"]


class SignOffRequestSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="signoff-detail")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    registry = serializers.CharField(source="model_version.registered_model.registry.name", read_only=True)
    model = serializers.CharField(source="model_version.registered_model.name", read_only=True)
    version = serializers.CharField(source="model_version.version", read_only=True)
    policy = SignOffPolicySerializer(read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version_author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decisions = SignOffDecisionSerializer(many=True, read_only=True)
    missing_roles = serializers.SerializerMethodField(help_text="Required roles nobody has approved in yet.")
    waiting_for = serializers.SerializerMethodField(
        help_text="Everything a pending request still waits for, in words: its missing roles, then any extra "
        "distinct approver (one more when the version's author is unknown). Empty once decided."
    )

    class Meta:
        model = SignOffRequest
        fields = [
            "id", "url", "project", "model_version", "registry", "model", "version", "status", "status_reason",
            "policy", "requested_by", "version_author", "justification", "fingerprint", "fingerprint_hash",
            "requested_at", "decided_at", "valid_until", "closed_at", "decisions", "missing_roles",
            "author_unknown", "waiting_for", "metrics_flag", "metrics_flagged_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_missing_roles(self, request) -> list[str]:
        return missing_roles(request.policy.required_roles, request.decisions.all())

    def get_waiting_for(self, request) -> list[str]:
        if request.status != SignOffStatus.PENDING:
            return []
        return approvals_outstanding(request, list(request.decisions.all()))


class SignOffCreateSerializer(serializers.Serializer):
    model_version = serializers.PrimaryKeyRelatedField(
        queryset=ModelVersion.objects.none(), help_text="Id of the model version to approve (see /model-versions/)."
    )
    justification = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # Only versions the caller can see: another team's version id reads as unknown.
        if request is not None:
            self.fields["model_version"].queryset = model_versions_for_user(user=request.user)


class SignOffDecisionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    role = serializers.ChoiceField(
        choices=REVIEWER_ROLE_CHOICES,
        required=False,
        help_text="Which required role you fill, when you hold more than one.",
    )


class SignOffWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class SignOffFreshnessSerializer(serializers.Serializer):
    matches = serializers.BooleanField()
    changes = serializers.ListField(child=serializers.DictField())


class SignOffViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sign-off requests, newest first. Create = request sign-off; actions decide or withdraw."""

    serializer_class = SignOffRequestSerializer
    read_roles = ALL_ROLES
    write_roles = REQUESTERS
    queue_roles = ALL_ROLES
    freshness_roles = ALL_ROLES
    # Any role may try: the service refuses (and audits) a decision from someone who may not make it.
    approve_roles = reject_roles = request_changes_roles = ALL_ROLES
    withdraw_roles = REQUESTERS
    filterset_fields = ["status", "project__slug"]

    def get_queryset(self):
        return signoffs_for_user(user=self.request.user).order_by("-requested_at", "-pk")

    def _out(self, request_obj: SignOffRequest, code=status.HTTP_200_OK) -> Response:
        obj = self.get_queryset().get(pk=request_obj.pk)
        return Response(SignOffRequestSerializer(obj, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=SignOffCreateSerializer, responses={201: SignOffRequestSerializer})
    def create(self, request, *args, **kwargs):
        """Request sign-off for one model version of a project you lead (its tier must be assessed)."""
        serializer = SignOffCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        created = services.signoff_request(
            by=request.user,
            version=serializer.validated_data["model_version"],
            justification=serializer.validated_data.get("justification", ""),
        )
        return self._out(created, status.HTTP_201_CREATED)

    def _decide(self, request, verdict: str) -> Response:
        target = self.get_object()
        serializer = SignOffDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.signoff_decide(by=request.user, request=target, verdict=verdict, **serializer.validated_data)
        return self._out(target)

    @extend_schema(request=SignOffDecisionInputSerializer, responses=SignOffRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve in a role the policy asks for; the last required approval approves the request."""
        return self._decide(request, Verdict.APPROVE)

    @extend_schema(request=SignOffDecisionInputSerializer, responses=SignOffRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject, saying why (comment required); the request is closed."""
        return self._decide(request, Verdict.REJECT)

    @extend_schema(request=SignOffDecisionInputSerializer, responses=SignOffRequestSerializer)
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        """Ask the requester for changes (comment required); the request stays pending."""
        return self._decide(request, Verdict.REQUEST_CHANGES)

    @extend_schema(request=SignOffWithdrawSerializer, responses=SignOffRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester (or the project's team lead) withdraws a pending request."""
        target = self.get_object()
        serializer = SignOffWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.signoff_withdraw(by=request.user, request=target, **serializer.validated_data)
        return self._out(target)

    @extend_schema(responses=SignOffRequestSerializer(many=True))
    @action(detail=False, methods=["get"])
    def queue(self, request):
        """What waits for you: pending requests needing a role you hold and may fill, oldest first."""
        page = self.paginate_queryset(review_queue_for_user(user=request.user))
        data = SignOffRequestSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(responses=SignOffFreshnessSerializer)
    @action(detail=True, methods=["get"])
    def freshness(self, request, pk=None):
        """Does the request's fingerprint still match the present state? If not, what moved."""
        target = self.get_object()
        current = fp.compute(version=target.model_version, project=target.project, policy=target.policy)
        changes = [{"code": c, "message": m} for c, m in fp.changes(target.fingerprint, current)]
        return Response({"matches": not changes, "changes": changes})

    def can_write_object(self, user, obj):
        return True  # the services decide (separation of duties, roles, scope) and audit refusals


class SignOffPolicyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sign-off policies per tier, every version; the highest version of a tier is in force.
    POST publishes the next version of a tier (risk officers, admins); published versions never change."""

    serializer_class = SignOffPolicySerializer
    read_roles = ALL_ROLES
    write_roles = POLICY_PUBLISHERS
    queryset = (
        SignOffPolicy.objects.select_related("created_by")
        .prefetch_related("metric_requirements")
        .order_by("tier", "-version")
    )
    filterset_fields = ["tier"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        policy = services.signoff_policy_publish(
            by=request.user,
            tier=data["tier"],
            required_roles=data["required_roles"],
            min_approvers=data.get("min_approvers", 1),
            recertify_days=data.get("recertify_days"),
            approvable=data.get("approvable", True),
            note=data.get("note", ""),
            metric_requirements=[dict(r) for r in data.get("metric_requirements", [])],
        )
        return Response(self.get_serializer(policy).data, status=status.HTTP_201_CREATED)
