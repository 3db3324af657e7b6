"""The API lists load only the columns their rows show (core.api.columns) and build their rows by a plan
(core.api.rows): every row of a list must still say exactly what the same object's detail says, every
list body exactly what DRF's own serializing says, and a list must cost the same queries at 10 and 500
rows (a column the list forgot would be loaded once per row)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_filters.rest_framework import DjangoFilterBackend

from core.api import rows
from core.api.filters import FilterBackend
from governance.api.audit import AuditEventSerializer
from governance.api.findings import FindingSerializer
from governance.api.risks import RiskSerializer
from governance.models import Finding, Risk
from governance.risks import services as risk_services
from projects.api.inventory import ProjectSerializer
from projects.api.registries import DeploymentSerializer, ModelVersionSerializer
from projects.api.roi import ROIEntrySerializer
from projects.models import RegisteredModel, ROIEntry
from projects.roi import services as roi_services
from tests.factories import AIProjectFactory, UserFactory
from tests.query_counts import assert_queries, get_counting_queries
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, hold
from tests.risk_factories import MitigationFactory, overdue_risk

from .test_risk_query_counts import add_risks

SMALL, LARGE = 10, 500


@pytest.fixture
def portfolio(project, other_project, team_lead, other_lead, risk_officer):
    """Rows of every list on two teams' projects, with every related value a row shows filled in: a
    sponsor, an accepted risk (its acceptor) with a mitigation, findings, a linked model's version with a
    raw registry answer and an alias, ROI entries logged by a named lead."""
    AIProjectFactory(team=project.team, owner=team_lead, executive_sponsor=UserFactory(username="sponsor"))
    for p, lead in ((project, team_lead), (other_project, other_lead)):
        risk = overdue_risk(project=p, title=f"Leak at {p.slug}", likelihood=4, impact=4)
        MitigationFactory(risk=risk, owner=lead, due_date=dt.date(2030, 1, 1))
        accepted = overdue_risk(project=p, title=f"Accepted at {p.slug}", likelihood=2, impact=2)
        risk_services.risk_transition(by=risk_officer, risk=accepted, status="accepted", justification="Low.")
        model = RegisteredModelFactory(project=p, name=f"{p.slug}-model")
        for n in (1, 2):
            version = ModelVersionFactory(registered_model=model, version=str(n), raw={"run": {"big": "x" * 500}})
            hold(version, "champion", T0 + dt.timedelta(days=n), None if n == 2 else T0 + dt.timedelta(days=2))
        for basis in ("planned", "actual"):
            roi_services.roi_entry_create(
                by=lead, project=p, month=dt.date(2026, 3, 1), kind="value", category="cost_saving", basis=basis,
                amount=Decimal("1200.50"), note="From the pilot.",
            )  # fmt: skip
    risk_services.risk_reviews_mark_overdue()
    assert (Risk.objects.count(), ROIEntry.objects.count()) == (4, 4)
    assert Finding.objects.exists()


# list, the detail route of a row (None: no detail), keys only the detail shows
LISTS = [
    ("/api/v1/projects/", "/api/v1/projects/{slug}/", ()),
    ("/api/v1/model-versions/", "/api/v1/model-versions/{id}/", ("raw",)),
    ("/api/v1/risks/", "/api/v1/risks/{id}/", ()),
    ("/api/v1/findings/", "/api/v1/findings/{id}/", ()),
    ("/api/v1/roi-entries/", "/api/v1/roi-entries/{id}/", ()),
]


@pytest.mark.parametrize(("url", "detail", "detail_only"), LISTS, ids=[row[0] for row in LISTS])
@pytest.mark.parametrize("persona", ["executive", "team_lead"])
def test_every_list_row_says_what_its_detail_says(request, client, portfolio, persona, url, detail, detail_only):
    client.force_login(request.getfixturevalue(persona))
    rows = client.get(url).json()["results"]
    assert rows
    for row in rows:
        full = client.get(detail.format(**row)).json()
        assert row == {k: v for k, v in full.items() if k not in detail_only}
    if url == "/api/v1/model-versions/":
        assert full["raw"] == {"run": {"big": "x" * 500}}  # the detail still has what the list leaves out


# Every list whose rows core.api.rows builds, and the personas that read it.
PLANNED_LISTS = [
    *((url, persona) for url in (
        "/api/v1/projects/", "/api/v1/model-versions/", "/api/v1/deployments/", "/api/v1/risks/",
        "/api/v1/findings/", "/api/v1/roi-entries/",
    ) for persona in ("executive", "team_lead")),
    ("/api/v1/audit-events/", "risk_officer"),
    ("/api/v1/risks/?page_size=2&page=2", "executive"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "persona"), PLANNED_LISTS, ids=[f"{u} as {p}" for u, p in PLANNED_LISTS])
def test_every_list_says_byte_for_byte_what_drf_says(request, client, portfolio, monkeypatch, url, persona):
    client.force_login(request.getfixturevalue(persona))
    planned = client.get(url)
    again = client.get(url)  # its page, prefetch and count queries compiled by the first (core.queries._compiled)
    monkeypatch.setattr(rows, "row_plan", lambda serializer_class: None)  # DRF builds every row,
    monkeypatch.setattr(rows, "lean_page", lambda queryset: queryset)  # ORM instances, Django's prefetch, SQL compiled,
    monkeypatch.setattr(FilterBackend, "filter_queryset", DjangoFilterBackend.filter_queryset)  # filtered by a form
    drf = client.get(url)
    assert planned.status_code == drf.status_code == 200
    assert planned.json()["results"]
    assert planned.content == again.content == drf.content


@pytest.mark.parametrize(
    "serializer_class",
    [ProjectSerializer, ModelVersionSerializer, DeploymentSerializer, RiskSerializer, FindingSerializer,
     ROIEntrySerializer, AuditEventSerializer],
)  # fmt: skip
def test_every_list_field_has_a_fast_reading(serializer_class):
    """A field left to DRF still says the same, only slower: this keeps the lists from losing their speed
    unnoticed (a new field class gets a row_converter, or joins core.api.rows.VALUE_ONLY)."""
    plan = rows.row_plan(serializer_class)
    assert plan is not None
    assert [name for name, kind, _, _ in plan.parts if kind == "drf"] == []


def test_deployment_rows_name_their_version_model_registry_and_project(client, executive, portfolio):
    client.force_login(executive)
    rows = client.get("/api/v1/deployments/").json()["results"]
    assert sorted((r["project"], r["model"], r["version"], r["name"]) for r in rows) == [
        ("churn-model", "churn-model-model", "2", "champion"),
        ("fraud-scoring", "fraud-scoring-model", "2", "champion"),
    ]
    registries = {m.name: (m.registry_id, m.registry.name) for m in RegisteredModel.objects.select_related("registry")}
    assert {(r["registry"], r["registry_name"]) for r in rows} == {registries[r["model"]] for r in rows}


# url, persona, rows on page 1 for n risks, budget: token or session, user, roles; count, page (risks:
# and their mitigations); a team lead's teams (led, and member of: one query).
RISK_LISTS = [
    ("/api/v1/risks/", "executive", lambda n: min(n, 50), 6),
    ("/api/v1/risks/", "team_lead", lambda n: min(n // 2, 50), 7),
    ("/api/v1/findings/", "risk_officer", lambda n: min(n, 50), 5),
    ("/api/v1/findings/", "team_lead", lambda n: min(n // 2, 50), 6),
]


@pytest.mark.parametrize(
    ("url", "persona", "rows", "budget"), RISK_LISTS, ids=[f"{r[0]} as {r[1]}" for r in RISK_LISTS]
)
def test_risk_and_finding_lists_cost_the_same_queries_for_10_or_500_rows(
    request, client, team, other_team, project, other_project, url, persona, rows, budget
):
    client.force_login(request.getfixturevalue(persona))
    projects = [project, other_project, AIProjectFactory(team=team), AIProjectFactory(team=other_team)]
    owners = [UserFactory() for _ in range(5)]
    counts = []
    for n in (SMALL, LARGE - SMALL):
        add_risks(n, projects, owners)
        add_findings(Risk.objects.order_by("-id")[:n])
        queries, response = get_counting_queries(client, url)
        counts.append(queries)
        assert len(response.json()["results"]) == rows(Risk.objects.count())
    assert_queries(*counts, equal=budget, what=f"{url} as {persona} at {SMALL} and {LARGE} rows")


def add_findings(risks) -> None:
    """An open finding per risk, on the risk's project, assigned to its owner (bulk: the rule would take long)."""
    Finding.objects.bulk_create(
        Finding(kind="risk_review_overdue", severity="high", title=f"Review overdue: {r.title}",
                subject_type="governance.risk", subject_id=str(r.pk), project_id=r.project_id, assignee_id=r.owner_id)
        for r in risks
    )  # fmt: skip
