"""The dashboard page, its exports and /api/v1/portfolio/summary cost a fixed number of queries however
large the portfolio (all aggregation happens in the database).

Each is measured with 10 and with 500 projects, each with a ROI ledger (seed_portfolio: planned and
actual value and cost every month, some projects in USD or GBP), two risks (every third one's review
overdue) and, for every fifth, an open finding, a value-decay finding and a registry model whose version
serves production without a sign-off (so the "In production without a valid sign-off" list, its signals
and the health column all have rows to read). The counts must be equal and within the budget measured when
the page was written.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.models import Finding, FindingKind, Risk, RiskStatus, Severity
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject, DeploymentObservation, ModelVersion, RegisteredModel, ROIEntry, Signal
from tests.query_counts import QueryCount, assert_queries, get_counting_queries
from tests.registry_factories import RegistryFactory

pytestmark = pytest.mark.django_db

SMALL, LARGE = 10, 500
MONTHS = 6
# Session, user, roles, and the dashboard's own: team choices, (team, stage) groups, (team, month) ledger
# groups, risks, findings, sign-offs, compliance coverage (and by team, page only), matrix points, the
# table's count and page (with its health signals), the unapproved-production count, its list and their
# signals, overdue reviews, the attention list's findings, the incident counts; the champion/challenger
# tile: alias holders, their metrics, the policies' directions.
PAGE_BUDGET = 22
API_BUDGET = 13
EXPORT_BUDGET = 10


def add_governance(prefix: str, owner) -> None:
    """Two risks per project (one high open, one closed or medium) and an open finding on every fifth."""
    projects = list(AIProject.objects.filter(slug__startswith=f"{prefix}-").order_by("pk"))
    risks = []
    for i, p in enumerate(projects):
        for lk, im, status in ((4, 4, RiskStatus.OPEN), (3 + i % 3, 3, RiskStatus.CLOSED if i % 2 else "open")):
            risk = Risk(project=p, title=f"Risk of {p.slug} {lk}x{im}", category="robustness", likelihood=lk,
                        impact=im, residual_likelihood=lk, residual_impact=im, owner=owner, status=status,
                        next_review_date=dt.date(2030, 1, 1))  # fmt: skip
            risk.compute_scores()
            risks.append(risk)
    Risk.objects.bulk_create(risks, batch_size=500)
    Risk.objects.filter(pk__in=[r.pk for r in risks[::3]]).exclude(status=RiskStatus.CLOSED).update(review_overdue=True)
    Finding.objects.bulk_create(
        [Finding(kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.HIGH, title=f"Finding {p.slug}",
                 subject_type="test", subject_id=p.slug, project=p) for p in projects[::5]]
        + [Finding(kind=FindingKind.VALUE_DECAY, severity=Severity.MEDIUM, title=f"Decay {p.slug}",
                   subject_type="projects.aiproject", subject_id=str(p.pk), project=p) for p in projects[::5]]
    )  # fmt: skip
    add_unapproved_production(prefix, projects[::5])


def add_unapproved_production(prefix: str, projects) -> None:
    """A linked model per project whose version 1 holds the production alias and stage, unapproved."""
    registry = RegistryFactory(name=f"{prefix}-mlflow")
    models = RegisteredModel.objects.bulk_create(
        [RegisteredModel(registry=registry, name=f"{p.slug}-model", project=p, link_source="manual") for p in projects]
    )
    versions = ModelVersion.objects.bulk_create(
        [ModelVersion(registered_model=m, version="1", version_number=1) for m in models]
    )
    now = timezone.now()
    DeploymentObservation.objects.bulk_create(
        [DeploymentObservation(registered_model_id=v.registered_model_id, version=v, signal=signal, name=name,
                               observed_from=now)
         for v in versions for signal, name in ((Signal.ALIAS, "production"), (Signal.STAGE, "Production"))]
    )  # fmt: skip


def portfolio_of(n: int, owner, prefix: str) -> None:
    seed_portfolio(scale=n, months=MONTHS, prefix=prefix)
    add_governance(prefix, owner)


def queries(client, path, params=None) -> QueryCount:
    return get_counting_queries(client, path, params)[0]


def measure(client, user, paths) -> list[QueryCount]:
    client.force_login(user)
    return [queries(client, path, params) for path, params in paths]


PATHS = [
    ("/governance/dashboard/", None),
    ("/governance/dashboard/", {"team": "small-team-000", "stage": ["production", "development"], "tier": "high"}),
    ("/governance/dashboard/", {"page": "2"}),
    ("/", None),
    ("/governance/dashboard/", {"export": "csv"}),
    ("/governance/dashboard/", {"export": "xlsx"}),
    ("/api/v1/portfolio/summary", None),
    ("/api/v1/portfolio/summary", {"team": "small-team-000", "stage": "production"}),
]


def test_dashboard_and_summary_cost_the_same_queries_for_10_and_500_projects(client, executive, team_lead):
    portfolio_of(SMALL, team_lead, "small")
    small = measure(client, executive, PATHS)

    portfolio_of(LARGE - SMALL, team_lead, "large")
    assert AIProject.objects.count() == LARGE
    assert ROIEntry.objects.count() == LARGE * MONTHS * 4
    large = measure(client, executive, PATHS)

    for (path, params), small_count, large_count in zip(PATHS, small, large, strict=True):
        assert_queries(small_count, large_count, what=f"{path} {params or ''}")
    page, filtered, page2, home, csv, xlsx, api, api_filtered = large
    assert max(page, filtered, page2, home) <= PAGE_BUDGET, large
    assert max(csv, xlsx) <= EXPORT_BUDGET, large
    assert api <= API_BUDGET, api
    assert api_filtered <= API_BUDGET + 1, api_filtered


def test_a_team_leads_dashboard_costs_the_same_too(client, team_lead):
    from projects.models import Team

    portfolio_of(SMALL, team_lead, "small")
    Team.objects.filter(slug__startswith="small-team-").update(lead=team_lead)
    small = measure(client, team_lead, PATHS[:3] + PATHS[6:])

    portfolio_of(LARGE - SMALL, team_lead, "large")
    Team.objects.filter(slug__startswith="large-team-").update(lead=team_lead)
    large = measure(client, team_lead, PATHS[:3] + PATHS[6:])
    for (path, params), small_count, large_count in zip(PATHS[:3] + PATHS[6:], small, large, strict=True):
        assert_queries(small_count, large_count, what=f"{path} {params or ''}")
