"""/api/v1/risk-assessments/: the EU AI Act questionnaire, its answers and the tier they lead to.

Same rules as the questionnaire page: everyone with a role reads the assessments of the projects
they may see; team leads assess their own teams' projects, risk officers and admins every project.
A submission is one service call (versioned and audited there); answers that do not fit the
questionnaire are refused per question, before anything is written.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles
from core.api.fields import IdentityUrlField, ScopedSlugRelatedField
from core.roles import Role
from projects.inventory.selectors import projects_for_user

from ..models import RiskTierAssessment
from ..risks import assessments, tiering
from ..risks.filters import RiskTierAssessmentFilterSet
from ..risks.selectors import tier_assessments_for_user

ALL_ROLES = roles.ALL_ROLES
ASSESSORS = (Role.RISK_OFFICER, Role.TEAM_LEAD, Role.ADMIN)


# --- serializers ----------------------------------------------------------------------------------


class RiskTierAssessmentSerializer(serializers.ModelSerializer):
    """One answered questionnaire: the tier, the article or annex point that set it, and why."""

    url = IdentityUrlField(view_name="risk-assessment-detail")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    assessed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)
    explanation = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Which answers led to the tier, in order."
    )
    answers = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="The answers to the questions asked."
    )
    unanswered = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text='Relevant questions never answered (then tier is "": not assessed).',
    )
    flag_meanings = serializers.SerializerMethodField(help_text="Each flag with its meaning in words.")
    is_current = serializers.BooleanField(read_only=True, help_text="The project's latest version: its tier.")

    class Meta:
        model = RiskTierAssessment
        fields = [
            "id", "url", "project", "project_name", "version", "is_current", "tier", "route", "flags",
            "flag_meanings", "explanation", "answers", "unanswered", "answers_hash", "assessed_by", "assessed_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_flag_meanings(self, obj) -> dict[str, str]:
        return dict(obj.flag_meanings)


class RiskTierAssessmentSubmitSerializer(serializers.Serializer):
    """POST body: the project's slug and the answers, question id → choice (GET questions/ lists them)."""

    project = ScopedSlugRelatedField(scope=projects_for_user)
    answers = serializers.DictField(
        child=serializers.CharField(),
        help_text='Question id → choice, e.g. {"A1": "yes", "D1": "4a", "D3": "yes", ...}. Every question the '
        "answers make relevant must be answered (GET questions/ says when each follow-up is asked); an "
        "incomplete set is refused per question and changes nothing. Answers to questions not asked are dropped.",
    )

    def validate_answers(self, answers):
        try:
            normalised = tiering.normalise(answers)
        except tiering.AnswerError as exc:
            raise serializers.ValidationError({qid: [message] for qid, message in exc.errors.items()}) from exc
        missing = tiering.unanswered(normalised)
        if missing:
            raise serializers.ValidationError({qid: [tiering.UNANSWERED] for qid in missing})
        return normalised


class TierChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class TierQuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    ref = serializers.CharField(help_text="The article or annex the question comes from.")
    choices = TierChoiceSerializer(many=True)
    asked_when = serializers.CharField(
        allow_blank=True, help_text="When a follow-up is asked (blank: always, while the system is in scope)."
    )


class TierSectionSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    questions = TierQuestionSerializer(many=True)


class TierQuestionnaireSerializer(serializers.Serializer):
    sections = TierSectionSerializer(many=True)


def questionnaire() -> dict:
    """The questions grouped by section, in the order the page asks them."""
    return {
        "sections": [
            {
                "id": section,
                "title": title,
                "questions": [
                    {
                        "id": q.id,
                        "text": q.text,
                        "ref": q.ref,
                        "choices": [{"value": v, "label": label} for v, label in q.choices],
                        "asked_when": tiering.ASKED_WHEN.get(q.id, ""),
                    }
                    for q in tiering.QUESTIONS
                    if q.section == section
                ],
            }
            for section, title in tiering.SECTIONS.items()
        ]
    }


# --- views ----------------------------------------------------------------------------------------


class RiskTierAssessmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Tier assessments, newest first. POST answers for a project to assess it again: a new version,
    the earlier ones kept; the project's `risk_tier` follows the newest."""

    serializer_class = RiskTierAssessmentSerializer
    filterset_class = RiskTierAssessmentFilterSet
    read_roles = ALL_ROLES
    write_roles = ASSESSORS

    def get_queryset(self):
        return tier_assessments_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return RiskTierAssessmentSubmitSerializer
        return RiskTierAssessmentSerializer

    @extend_schema(request=RiskTierAssessmentSubmitSerializer, responses={201: RiskTierAssessmentSerializer})
    def create(self, request, *args, **kwargs):
        """Assess a project from its answers: 201 with the tier, route, flags, explanation and version.

        Answers that do not fit the questionnaire are refused per question id (400) and change nothing.
        """
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = assessments.tier_assessment_submit(by=request.user, **serializer.validated_data)
        # Read back through the scoped selector, so the response carries is_current like the list.
        assessment = self.get_queryset().get(pk=assessment.pk)
        out = RiskTierAssessmentSerializer(assessment, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=TierQuestionnaireSerializer, filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def questions(self, request):
        """The questionnaire: ids, sections, text, legal references, choices, and when each follow-up is asked
        (nothing has a default: every question asked must be answered)."""
        return Response(TierQuestionnaireSerializer(questionnaire()).data)
