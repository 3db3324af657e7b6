"""/api/v1/gate: may this model version go to this environment? And the key that signs the answer.

    GET /api/v1/gate?registry=<name>&model=<name>&version=<n>&environment=production
    GET /api/v1/gate?registry=<name>&model=<name>&alias=<alias>&environment=production

Always 200 with `allowed` true or false when the question is well-formed (a pipeline branches on
the field, not on the status code); 400 when it is not; 503 when Keel has no signing key. Every
answer is audited and signed: keep `token` as the deployment's evidence and verify it offline
with the public key from /api/v1/gate/public-key (README, "Deployment gate").
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles

from ..signoff import gate, tokens


class GateQuerySerializer(serializers.Serializer):
    registry = serializers.CharField(max_length=100, help_text="The registry's name in Keel.")
    model = serializers.CharField(max_length=500, help_text="The registered model's name.")
    version = serializers.CharField(max_length=50, required=False, help_text="The version; or give alias.")
    alias = serializers.CharField(max_length=100, required=False, help_text="An alias the version holds now.")
    environment = serializers.SlugField(max_length=50, help_text="Where it would go, e.g. production.")

    def validate(self, attrs):
        if bool(attrs.get("version")) == bool(attrs.get("alias")):
            raise serializers.ValidationError({"version": ["Give exactly one of version and alias."]})
        return attrs


class GateReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GateApprovalSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    role = serializers.CharField()
    decided_at = serializers.DateTimeField()
    comment = serializers.CharField()


class GateAnswerSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    decision = serializers.ChoiceField(choices=["allowed", "denied"])
    environment = serializers.CharField()
    registry = serializers.CharField()
    model = serializers.CharField()
    version = serializers.CharField(allow_null=True)
    alias = serializers.CharField(allow_null=True)
    project = serializers.CharField(allow_null=True)
    tier = serializers.CharField(allow_null=True)
    reasons = GateReasonSerializer(many=True)
    signoff = serializers.IntegerField(allow_null=True)
    fingerprint = serializers.DictField(allow_null=True)
    fingerprint_hash = serializers.CharField(allow_null=True)
    approvals = GateApprovalSerializer(many=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    jti = serializers.CharField(help_text="The answer's id; the audit event of this call carries it.")
    iat = serializers.IntegerField()
    exp = serializers.IntegerField()
    token = serializers.CharField(help_text="This answer signed with Ed25519 (compact JWS).")
    kid = serializers.CharField()


class PublicKeySerializer(serializers.Serializer):
    kid = serializers.CharField()
    alg = serializers.CharField()
    public_key_pem = serializers.CharField()
    jwk = serializers.DictField()


NO_KEY = {"detail": "", "code": "gate_unavailable"}


class GateView(APIView):
    """The deployment gate. Every role may ask; a caller sees only the models in its scope."""

    read_roles = roles.ALL_ROLES

    @extend_schema(
        parameters=[GateQuerySerializer],
        responses={200: GateAnswerSerializer, 400: None, 503: None},
        operation_id="gate_check",
    )
    def get(self, request):
        query = GateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        try:
            answer = gate.evaluate(
                user=request.user,
                registry=q["registry"],
                model=q["model"],
                environment=q["environment"],
                version=q.get("version"),
                alias=q.get("alias"),
            )
        except tokens.SigningKeyMissing as exc:
            return Response({**NO_KEY, "detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        kid = tokens.key_id(tokens.public_key())
        return Response({**answer.payload, "token": answer.token, "kid": kid})


class GatePublicKeyView(APIView):
    """The public half of the gate's signing key. Public by design: auditors verify tokens offline."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: PublicKeySerializer, 503: None}, operation_id="gate_public_key")
    def get(self, request):
        try:
            return Response(tokens.public_key_document())
        except tokens.SigningKeyMissing as exc:
            return Response({**NO_KEY, "detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
