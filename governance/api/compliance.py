"""/api/v1/classifications/, /api/v1/obligations/, /api/v1/evidence/: PII classification and the
compliance obligations that follow from it.

    classifications   every role reads (datasets are organisation-wide); risk officers, compliance
                      officers and admins assert (POST) and retract (DELETE) a manual classification;
                      derived rows carry their provenance (origin, path, hops) and are read-only
    obligations       read, scoped to the projects the caller may see; derived by rules, never written here
    evidence          read in the same scope; given (POST, JSON link or multipart file) by the project's
                      team, risk and compliance officers and admins

An unknown PII kind is a 400 naming the known kinds; nothing is stored.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core import roles
from core.api.fields import IdentityUrlField
from core.api.parsers import BoundedJSONParser
from core.roles import Role

from ..compliance import selectors, services, taxonomy
from ..compliance.filters import ClassificationFilterSet, EvidenceFilterSet, ObligationFilterSet
from ..compliance.rules import RULES_BY_ID
from ..models import Classification, Dataset, DatasetField, Evidence, Obligation

ALL_ROLES = roles.ALL_ROLES
EVIDENCE_GIVERS = (Role.TEAM_LEAD, Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)


class ClassificationSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="classification-detail")
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    dataset_namespace = serializers.CharField(source="dataset.namespace", read_only=True)
    field_name = serializers.CharField(source="field.name", read_only=True, allow_null=True, default=None)
    asserted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    path = serializers.JSONField(read_only=True, help_text="The hops from the root assertion to here, root first.")

    class Meta:
        model = Classification
        fields = [
            "id", "url", "dataset", "dataset_namespace", "dataset_name", "field", "field_name", "pii_kind",
            "gdpr_class", "origin", "asserted_by", "derived_from", "treatment", "verified", "hops", "path", "note",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ClassificationCreateSerializer(serializers.Serializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.all(), help_text="The dataset's id.")
    field = serializers.PrimaryKeyRelatedField(
        queryset=DatasetField.objects.all(), required=False, allow_null=True,
        help_text="The field's id; leave out to classify the dataset as a whole.",
    )  # fmt: skip
    pii_kind = serializers.CharField(max_length=60, help_text="A kind of the taxonomy: " + ", ".join(taxonomy.KINDS))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate_pii_kind(self, value):
        try:
            return taxonomy.resolve(value)
        except taxonomy.UnknownPIIKind as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ClassificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """PII classifications, asserted and derived. DELETE retracts a manual assertion and what derived from it."""

    serializer_class = ClassificationSerializer
    filterset_class = ClassificationFilterSet
    read_roles = ALL_ROLES
    write_roles = services.CLASSIFIERS

    def get_queryset(self):
        return selectors.classifications_inventory()

    @extend_schema(request=ClassificationCreateSerializer, responses={201: ClassificationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ClassificationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        root = services.classification_assert(by=request.user, **serializer.validated_data)
        out = ClassificationSerializer(self.get_queryset().get(pk=root.pk), context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.classification_retract(by=self.request.user, classification=instance)


class EvidenceSerializer(serializers.ModelSerializer):
    given_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_stale = serializers.BooleanField(read_only=True)
    file = serializers.SerializerMethodField(help_text="Where an authorised user downloads the file.")

    class Meta:
        model = Evidence
        fields = ["id", "obligation", "link", "file", "file_name", "content_type", "size", "sha256", "note",
                  "given_by", "given_at", "facts_hash", "is_stale"]  # fmt: skip
        read_only_fields = fields

    def get_file(self, evidence) -> str | None:
        if not evidence.file:
            return None
        from django.urls import reverse

        path = reverse("governance:evidence-file", kwargs={"pk": evidence.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ObligationSerializer(serializers.ModelSerializer):
    url = IdentityUrlField(view_name="obligation-detail")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    title = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = Obligation
        fields = ["id", "url", "project", "rule_id", "title", "description", "status", "detail", "facts",
                  "facts_hash", "first_required_at", "updated_at", "evidence"]  # fmt: skip
        read_only_fields = fields

    def get_title(self, obligation) -> str:
        rule = RULES_BY_ID.get(obligation.rule_id)
        return rule.title if rule else obligation.rule_id

    def get_description(self, obligation) -> str:
        rule = RULES_BY_ID.get(obligation.rule_id)
        return rule.description if rule else ""


class ObligationViewSet(viewsets.ReadOnlyModelViewSet):
    """A project's obligations, as the rules derive them from its tier and the PII reaching its models."""

    serializer_class = ObligationSerializer
    filterset_class = ObligationFilterSet
    read_roles = ALL_ROLES
    write_roles = ()

    def get_queryset(self):
        return (
            selectors.obligations_for_user(user=self.request.user)
            .prefetch_related("evidence__given_by", "evidence__obligation")
            .order_by("project__name", "rule_id", "pk")
        )


class EvidenceCreateSerializer(serializers.Serializer):
    obligation = serializers.PrimaryKeyRelatedField(
        queryset=Obligation.objects.none(), help_text="The obligation's id."
    )
    link = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    file = serializers.FileField(required=False, help_text="Multipart upload; PDF, text, office or image files.")
    note = serializers.CharField(required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["obligation"].queryset = selectors.obligations_for_user(user=request.user)
        return fields


class EvidenceViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Evidence given for obligations; stale when the obligation's facts moved since it was given."""

    serializer_class = EvidenceSerializer
    filterset_class = EvidenceFilterSet
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]
    read_roles = ALL_ROLES
    write_roles = EVIDENCE_GIVERS

    def get_queryset(self):
        return selectors.evidence_for_user(user=self.request.user).order_by("-given_at", "-pk")

    @extend_schema(request=EvidenceCreateSerializer, responses={201: EvidenceSerializer})
    def create(self, request, *args, **kwargs):
        serializer = EvidenceCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        evidence = services.evidence_add(by=request.user, **serializer.validated_data)
        out = EvidenceSerializer(self.get_queryset().get(pk=evidence.pk), context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)
