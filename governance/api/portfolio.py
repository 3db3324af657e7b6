"""GET /api/v1/portfolio/summary: the executive dashboard's figures as JSON.

The same selectors as the page (governance/dashboard/selectors.py), so the same numbers: every role
reads it, scoped like the page (a team lead gets their teams' figures), filtered by the same parameters (team
slug; stage and tier, repeatable). Money is in the reporting currency, as exact decimal strings.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core import roles
from core.lists import filtered
from projects.models import RiskTier, Stage

from ..dashboard.attention import attention_counts, unapproved_production
from ..dashboard.filters import as_of_of, dashboard_filterset, is_filtered, whole_teams
from ..dashboard.selectors import (
    matrix_points,
    month_rows,
    portfolio_summary,
)


def _money(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class PortfolioStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class PortfolioRoiSerializer(serializers.Serializer):
    actuals_through = serializers.DateField(allow_null=True, help_text="The last month with actuals, up to this one.")
    realised_value = _money(source="cumulative_value", help_text="Actual value to date.")
    realised_cost = _money(source="cumulative_cost", help_text="Actual cost to date.")
    net_value = _money()
    roi_pct = _money(allow_null=True, help_text="Net value / cost × 100; null while no cost is logged.")
    payback_month = serializers.DateField(allow_null=True)
    npv = _money(help_text="Net present value of the actuals at KEEL_ROI_DISCOUNT_RATE.")
    planned_value_to_date = _money()
    planned_cost_to_date = _money()
    realised_vs_planned_pct = _money(allow_null=True)
    planned_value = _money(help_text="The whole plan, future months included.")
    planned_cost = _money()
    value_decay = serializers.BooleanField()
    decay_run_months = serializers.IntegerField()
    decay_since = serializers.DateField(allow_null=True)


class PortfolioComplianceSerializer(serializers.Serializer):
    met = serializers.IntegerField()
    required = serializers.IntegerField(help_text="Obligations that apply (not 'not applicable').")
    stale = serializers.IntegerField(help_text="Evidence given against facts that have changed since.")
    unmet = serializers.IntegerField()
    percent = serializers.IntegerField(allow_null=True, help_text="met / required; null when nothing is required.")


class PortfolioKpiSerializer(serializers.Serializer):
    projects = serializers.IntegerField(source="project_count")
    in_production = serializers.IntegerField()
    open_high_risks = serializers.IntegerField(help_text="Residual level high, status not closed.")
    open_critical_risks = serializers.IntegerField(help_text="Residual level critical, status not closed.")
    open_findings = serializers.IntegerField()
    in_production_without_signoff = serializers.IntegerField(
        help_text="Model versions of these projects serving production (alias, stage or approval) that no valid "
        "sign-off covers: the rule of the 'in production without a valid sign-off' findings."
    )
    pending_signoffs = serializers.IntegerField(help_text="Sign-off requests awaiting a decision.")
    compliance = PortfolioComplianceSerializer(help_text="Compliance obligations met over required.")
    expected_annual_value = _money(source="annual_value", help_text="The business cases, at the latest FX rates.")
    expected_investment = _money(source="investment")
    projects_without_fx_rate = serializers.IntegerField(source="unconverted_projects")


class PortfolioMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    planned_value = _money()
    planned_cost = _money()
    actual_value = _money(allow_null=True)
    actual_cost = _money(allow_null=True)
    cumulative_planned_value = _money(allow_null=True)
    cumulative_planned_cost = _money(allow_null=True)
    cumulative_actual_value = _money(allow_null=True)
    cumulative_actual_cost = _money(allow_null=True)


class PortfolioQuarterSerializer(serializers.Serializer):
    quarter = serializers.CharField(help_text="e.g. 2026-Q4")
    planned_value = _money(help_text="The whole quarter's plan.")
    planned_cost = _money()
    planned_value_to_date = _money(help_text="The plan to date, which the actuals are compared with.")
    planned_cost_to_date = _money()
    actual_value = _money()
    actual_cost = _money()
    partial = serializers.BooleanField(help_text="The as-of month falls inside the quarter, which is not over.")
    future = serializers.BooleanField(help_text="The quarter starts after the as-of month: plan only.")


class PortfolioAttentionSerializer(serializers.Serializer):
    overdue_reviews = serializers.IntegerField(help_text="Risks (not closed) whose review is overdue.")
    overdue_projects = serializers.IntegerField()
    value_decay = serializers.IntegerField(help_text="Open value-decay findings.")
    unowned_models = serializers.IntegerField(
        help_text="Open 'unowned model in production' findings (readers of everything, unfiltered only)."
    )
    unmet_obligations = serializers.IntegerField()


class PortfolioTeamSerializer(serializers.Serializer):
    team = serializers.CharField()
    slug = serializers.SlugField()
    projects = serializers.IntegerField()
    expected_annual_value = _money(source="annual_value")
    expected_investment = _money(source="investment")
    actual_value = _money(help_text="To date.")
    actual_cost = _money(help_text="To date.")
    planned_value = _money(help_text="To date.")


class PortfolioMatrixPointSerializer(serializers.Serializer):
    project = serializers.SlugField(source="slug")
    name = serializers.CharField()
    url = serializers.CharField(help_text="The project's API address.")
    team = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    risk_score = serializers.IntegerField(help_text="Highest residual score of the open risks; 0 = none.")
    risk_level = serializers.CharField()
    open_risks = serializers.IntegerField()
    expected_annual_value = _money(source="annual_value")
    expected_investment = _money(source="investment")
    actual_value = _money(help_text="Realised to date.")


class PortfolioSummarySerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The month the figures run to.")
    as_of_in_progress = serializers.BooleanField(
        help_text="The as-of month is the current one: figures to date, its plan counting for a project once "
        "the project logs an actual for it."
    )
    currency = serializers.CharField(help_text="The reporting currency.")
    filtered = serializers.BooleanField()
    kpis = PortfolioKpiSerializer(source="*")
    roi = PortfolioRoiSerializer(source="figures")
    stages = PortfolioStageSerializer(many=True)
    months = PortfolioMonthSerializer(many=True, source="month_rows")
    quarters = PortfolioQuarterSerializer(many=True)
    teams = PortfolioTeamSerializer(many=True)
    attention = PortfolioAttentionSerializer()
    matrix = PortfolioMatrixPointSerializer(
        many=True, source="matrix_points", help_text="The highest-value projects, as the page's bubble matrix."
    )


FILTER_PARAMETERS = [
    OpenApiParameter("team", OpenApiTypes.STR, description="A team's slug (a team lead: one of their teams)."),
    OpenApiParameter("stage", OpenApiTypes.STR, many=True, enum=Stage.values, description="Repeatable."),
    OpenApiParameter("tier", OpenApiTypes.STR, many=True, enum=RiskTier.values, description="Repeatable."),
    OpenApiParameter(
        "as_of", OpenApiTypes.STR, description="YYYY-MM: the month the figures run to (default: this month, to date)."
    ),
]


class PortfolioSummaryView(APIView):
    """The portfolio dashboard's figures for the caller's scope and filters."""

    read_roles = roles.ALL_ROLES

    @extend_schema(operation_id="portfolio_summary", parameters=FILTER_PARAMETERS,
                   responses=PortfolioSummarySerializer)  # fmt: skip
    def get(self, request):
        filterset = dashboard_filterset(data=request.query_params, request=request)
        if filterset.is_bound and not filterset.is_valid():
            raise ValidationError(filterset.errors)
        projects = filtered(filterset)
        narrowed = is_filtered(filterset)
        summary = portfolio_summary(
            user=request.user, projects=projects, filtered=narrowed, as_of=as_of_of(filterset),
            whole_teams=whole_teams(filterset),
        )  # fmt: skip
        unapproved_count, _ = unapproved_production(projects, limit=0)
        attention = attention_counts(
            user=request.user, projects=projects, filtered=narrowed, overdue=summary.overdue_reviews
        )
        points = matrix_points(projects, as_of=summary.as_of, rates=summary.fx_rates)
        for p in points:
            p["url"] = reverse("project-detail", kwargs={"slug": p["slug"]}, request=request)
        payload = {**vars(summary), "in_production": summary.in_production, "month_rows": month_rows(summary),
                   "matrix_points": points, "in_production_without_signoff": unapproved_count,
                   "attention": {**attention, "unmet_obligations": summary.compliance["unmet"]}}  # fmt: skip
        return Response(PortfolioSummarySerializer(payload).data)
