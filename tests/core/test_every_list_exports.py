"""Every list page exports CSV and XLSX of exactly what it shows: its header and rows, its filters, the
user's scope (a team lead's export holds only their teams' rows), formula-safe cells, and 400 for a
filter that cannot be applied or an unknown format.

One spec per list page; `test_every_list_route_exports_and_is_tested_here` walks the URLconf, so a list
page added later (any view on core.lists.FilteredListMixin) fails until it exports and has a spec.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from openpyxl import load_workbook

from core import audit
from core.exports import CSV_TYPE, XLSX_TYPE
from core.lists import FilteredListMixin
from governance.compliance import services as compliance_services
from governance.incidents.services import incident_open
from governance.models import Finding, FindingKind, RiskCategory, Severity
from projects.models import RiskTier
from projects.roi import services as roi_services
from tests.factories import AIProjectFactory, make_user
from tests.pii_factories import dataset, fld
from tests.risk_factories import RiskFactory
from tests.signoff_factories import assess, linked_version, pending_request

EVIL = '\x01=HYPERLINK("http://evil.example")'
SAFE = "'" + '=HYPERLINK("http://evil.example")'
FORMATS = ("csv", "xlsx")


def read(response, fmt: str) -> tuple[list[str], list[dict]]:
    """An export's header and rows, whichever its format; fails unless it is a real export."""
    assert response.status_code == 200, response.content[:300]
    if fmt == "csv":
        assert response["Content-Type"] == CSV_TYPE
        lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    else:
        assert response["Content-Type"] == XLSX_TYPE
        sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
        lines = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    assert response["Content-Disposition"].startswith('attachment; filename="keel-')
    header, *rows = lines
    return list(header), [dict(zip(header, row, strict=True)) for row in rows]


def finding(project, title: str, severity: str) -> None:
    Finding.objects.create(
        kind=FindingKind.RISK_REVIEW_OVERDUE, severity=severity, title=title, subject_type="governance.risk",
        subject_id=str(Finding.objects.count() + 1), project=project,
    )  # fmt: skip


def log_roi(by, project, *, kind: str, category: str, note: str, month=dt.date(2026, 1, 1)) -> None:
    roi_services.roi_entry_log(
        by=by, project=project, month=month, kind=kind, category=category, basis="actual",
        amount=Decimal("1000.00"), note=note,
    )  # fmt: skip


@pytest.fixture
def world(db, team_lead, other_lead, risk_officer, project, other_project):
    """Rows for every list: in the lead's team (project, and a project named EVIL), in another team
    (other_project), and one row per list holding EVIL in a text column."""
    evil = AIProjectFactory(name=EVIL, team=project.team, owner=team_lead)
    # findings
    finding(project, "Leak of claims data", Severity.CRITICAL)
    finding(project, "Unfair denials", Severity.HIGH)
    finding(other_project, "Churn data leak", Severity.HIGH)
    finding(project, EVIL, Severity.LOW)
    # incidents
    for p, title, severity in ((project, "Wrong denials", "high"), (other_project, "Churn leak", "medium"),
                               (project, EVIL, "low")):  # fmt: skip
        incident_open(by=risk_officer, title=title, description="x", severity=severity, projects=[p],
                      aware_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))  # fmt: skip
    # sign-offs
    for p, by, model in ((project, team_lead, "fraud-model"), (other_project, other_lead, "churn-model"),
                         (evil, team_lead, "evil-model")):  # fmt: skip
        assess(p, RiskTier.MINIMAL, by=by)
        pending_request(linked_version(p, model=model), by)
    # risks
    RiskFactory(project=project, title="Unfair denials risk", category=RiskCategory.FAIRNESS)
    RiskFactory(project=project, title="Model drift", category=RiskCategory.ROBUSTNESS)
    RiskFactory(project=other_project, title="Churn bias", category=RiskCategory.FAIRNESS)
    RiskFactory(project=project, title=EVIL, category=RiskCategory.LEGAL)
    # PII inventory (organisation-wide)
    for name in ("raw.customers", "raw.claims", EVIL):
        ds = dataset(name, "email")
        compliance_services.classification_assert(by=risk_officer, dataset=ds, field=fld(ds, "email"), pii_kind="email")
    # ROI ledger
    log_roi(team_lead, project, kind="value", category="cost_saving", note="Fewer false claims")
    log_roi(team_lead, project, kind="cost", category="compute", note="GPU hours")
    log_roi(team_lead, project, kind="value", category="revenue_uplift", note=EVIL)
    log_roi(other_lead, other_project, kind="value", category="cost_saving", note="Churn saved")
    # the audit trail: an actor whose name is a formula
    with transaction.atomic():
        audit.record(actor=make_user(EVIL), action="test.formula", obj=project, after={"x": 1})
    return SimpleNamespace(project=project, other=other_project, evil=evil, lead=team_lead, officer=risk_officer)


@dataclass(frozen=True)
class ListSpec:
    """One list page's export, as the tests below check it. Callables take the `world`."""

    route: str  # the URL name
    url: Callable
    header: tuple[str, ...]  # columns the export must have
    key: str  # the column that tells rows apart
    every: set  # keys a risk officer's unfiltered export holds
    filters: Callable  # params that narrow the list...
    narrowed: set  # ...to exactly these keys
    lead_sees: set | None  # keys of a team lead's export; None: a team lead may not read this list
    evil: Callable  # params selecting the row whose `evil_column` holds EVIL
    evil_column: str
    bad_filter: dict = field(default_factory=dict)


SPECS = [
    ListSpec(
        "governance:incidents",
        lambda w: "/governance/incidents/",
        ("id", "title", "severity", "seriousness", "projects", "report_due_at", "report_rule"),
        "title",
        {"Wrong denials", "Churn leak", SAFE},
        lambda w: {"severity": "high"},
        {"Wrong denials"},
        {"Wrong denials", SAFE},
        lambda w: {"severity": "low"},
        "title",
        {"severity": "catastrophic"},
    ),
    ListSpec(
        "governance:findings",
        lambda w: "/governance/findings/",
        ("id", "kind", "severity", "title", "project"),
        "title",
        {"Leak of claims data", "Unfair denials", "Churn data leak", SAFE},
        lambda w: {"severity": "critical"},
        {"Leak of claims data"},
        {"Leak of claims data", "Unfair denials", SAFE},
        lambda w: {"severity": "low"},
        "title",
        {"severity": "catastrophic"},
    ),
    ListSpec(
        "governance:signoffs",
        lambda w: "/governance/signoffs/",
        ("id", "project", "team", "model", "status"),
        "model",
        {"fraud-model", "churn-model", "evil-model"},
        lambda w: {"project": w.project.slug},
        {"fraud-model"},
        {"fraud-model", "evil-model"},
        lambda w: {"project": w.evil.slug},
        "project",
        {"status": "nope"},
    ),
    ListSpec(
        "governance:audit",
        lambda w: "/governance/audit/",
        ("seq", "actor", "description", "subject_url", "action"),
        "action",
        None,
        lambda w: {"action": "test.formula"},
        {"test.formula"},
        None,
        lambda w: {"action": "test.formula"},
        "actor",
        {"since": "yesterday-ish"},
    ),
    ListSpec(
        "governance:pii-inventory",
        lambda w: "/governance/pii/",
        ("namespace", "dataset", "field", "state", "labels", "suggested_kind", "owner", "legal_basis"),
        "dataset",
        {"raw.customers", "raw.claims", SAFE},
        lambda w: {"q": "customers"},
        {"raw.customers"},
        {"raw.customers", "raw.claims", SAFE},  # datasets are organisation-wide: every role reads them all
        lambda w: {"q": "HYPERLINK"},
        "dataset",
        {"pii": "shoe-size"},
    ),
    ListSpec(
        "governance:pii-labels",
        lambda w: "/governance/pii/labels/",
        ("dataset", "field", "pii_kind", "origin"),
        "dataset",
        {"raw.customers", "raw.claims", SAFE},
        lambda w: {"q": "customers"},
        {"raw.customers"},
        {"raw.customers", "raw.claims", SAFE},  # datasets are organisation-wide: every role reads them all
        lambda w: {"q": "HYPERLINK"},
        "dataset",
        {"pii_kind": "shoe-size"},
    ),
    ListSpec(
        "governance:risks",
        lambda w: "/governance/risks/",
        ("id", "project", "team", "title", "category"),
        "title",
        {"Unfair denials risk", "Model drift", "Churn bias", SAFE},
        lambda w: {"category": "robustness"},
        {"Model drift"},
        {"Unfair denials risk", "Model drift", SAFE},
        lambda w: {"category": "legal"},
        "title",
        {"level": "apocalyptic"},
    ),
    ListSpec(
        "projects:list",
        lambda w: "/projects/",
        ("slug", "name", "team", "stage", "owner"),
        "name",
        {"Fraud scoring", "Churn model", SAFE},
        lambda w: {"team": w.other.team.slug},
        {"Churn model"},
        {"Fraud scoring", SAFE},
        lambda w: {"q": "HYPERLINK"},
        "name",
        {"stage": "nowhere"},
    ),
    ListSpec(
        "projects:roi",
        lambda w: f"/projects/{w.project.slug}/roi/",
        ("project", "month", "kind", "category", "note"),
        "note",
        {"Fewer false claims", "GPU hours", SAFE},
        lambda w: {"kind": "cost"},
        {"GPU hours"},
        {"Fewer false claims", "GPU hours", SAFE},  # another team's entries are on their project's ledger
        lambda w: {"category": "revenue_uplift"},
        "note",
        {"kind": "gift"},
    ),
]
IDS = [s.route for s in SPECS]


def export(client, spec: ListSpec, w, fmt: str, params: dict | None = None):
    return client.get(spec.url(w), {**(params or {}), "export": fmt})


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_export_holds_the_header_and_the_rows(client, world, spec, fmt):
    client.force_login(world.officer)
    header, rows = read(export(client, spec, world, fmt), fmt)
    assert set(spec.header) <= set(header), header
    if spec.every is not None:
        assert sorted(r[spec.key] for r in rows) == sorted(spec.every)
    else:  # the audit trail: every event, newest first
        assert [r["seq"] for r in rows] == sorted((r["seq"] for r in rows), key=int, reverse=True)
        assert len(rows) > 10


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_filter_narrows_the_export_exactly_like_the_page(client, world, spec, fmt):
    client.force_login(world.officer)
    params = spec.filters(world)
    _, rows = read(export(client, spec, world, fmt, params), fmt)
    assert sorted(r[spec.key] for r in rows) == sorted(spec.narrowed)
    page = client.get(spec.url(world), params)
    assert page.status_code == 200
    assert page.context["page_obj"].paginator.count == len(rows)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_team_leads_export_holds_only_what_they_may_see(client, world, spec):
    client.force_login(world.lead)
    response = export(client, spec, world, "csv")
    if spec.lead_sees is None:
        assert response.status_code == 403
        return
    _, rows = read(response, "csv")
    assert sorted(r[spec.key] for r in rows) == sorted(spec.lead_sees)


def test_a_team_lead_cannot_export_another_teams_roi_ledger(client, world):
    client.force_login(world.lead)
    assert client.get(f"/projects/{world.other.slug}/roi/", {"export": "csv"}).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_formula_behind_a_control_character_comes_out_inert(client, world, spec, fmt):
    client.force_login(world.officer)
    _, rows = read(export(client, spec, world, fmt, spec.evil(world)), fmt)
    assert [r[spec.evil_column] for r in rows] == [SAFE]


def cells(content: bytes) -> list:
    """Every cell of every sheet of a workbook, loaded in full so each keeps the type openpyxl reads."""
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_no_cell_of_an_xlsx_export_is_a_formula(client, world, spec):
    client.force_login(world.officer)
    every = cells(export(client, spec, world, "xlsx").content)
    assert [c.coordinate for c in every if c.data_type == "f"] == []
    assert SAFE in [c.value for c in every]  # the row with EVIL is there, as text


@pytest.mark.parametrize("url", ["/governance/dashboard/?export=xlsx", "roi-template"])
def test_no_cell_of_the_dashboard_or_the_roi_template_is_a_formula(client, world, url):
    client.force_login(world.officer)
    if url == "roi-template":
        url = f"/projects/{world.evil.slug}/roi/template.xlsx"
    response = client.get(url)
    assert response.status_code == 200
    every = cells(response.content)
    assert [c.coordinate for c in every if c.data_type == "f"] == []
    assert all(not str(c.value).startswith(("=", "+", "-", "@")) for c in every if c.data_type == "s")
    if "dashboard" in url:
        assert SAFE in [c.value for c in every]  # the project named EVIL


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_filter_that_cannot_be_applied_answers_400_and_exports_nothing(client, world, spec, fmt):
    client.force_login(world.officer)
    response = export(client, spec, world, fmt, spec.bad_filter)
    assert response.status_code == 400
    assert response.content.decode().startswith("The filter cannot be applied, so nothing was exported:")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_an_unknown_format_answers_400(client, world, spec):
    client.force_login(world.officer)
    response = export(client, spec, world, "pdf")
    assert response.status_code == 400
    assert response.content.decode() == "Unknown export format 'pdf'; choose one of: csv, xlsx."


# --- every list route exports, and is tested above --------------------------------------------------

# List routes whose exports are tested for content, filters, scope and formula-safety in their own module
# (tests/projects/test_registry_exports.py): here only that they export at all.
EXPORTED_ELSEWHERE = {
    "projects:registries": "tests/projects/test_registry_exports.py",
    "projects:registry": "tests/projects/test_registry_exports.py",
    "governance:signoff-policies": "tests/governance/test_signoff_policy_exports.py",
}
# Views named like lists that are not filtered lists: a project's tab, whose rows the portfolio list
# exports filtered by ?project=<slug>.
PROJECT_TABS = {"governance:project-risks", "governance:project-signoffs"}


def routes(resolver=None, namespace: str = ""):
    """(url name, view class) of every class-based view in the URLconf."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry, inner)
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "view_class") and entry.name:
            yield f"{namespace}{entry.name}", entry.callback.view_class


def list_routes() -> dict[str, type]:
    return {name: view for name, view in routes() if issubclass(view, FilteredListMixin)}


def test_the_discovery_finds_the_known_lists():
    assert {s.route for s in SPECS} <= set(list_routes())


@pytest.mark.parametrize("name", sorted(list_routes()))
def test_every_list_route_exports_and_is_tested_here(name):
    view = list_routes()[name]
    assert view.export_rows is not FilteredListMixin.export_rows, f"{name} has no export_rows()"
    assert view.export_header, f"{name} has no export_header"
    assert isinstance(view.__dict__.get("export_stem"), property) or view.export_stem, f"{name} has no export_stem"
    assert name in IDS or name in EXPORTED_ELSEWHERE, f"add a ListSpec for {name} to {__name__}"


def test_every_view_named_like_a_list_is_a_filtered_list_or_a_project_tab():
    listish = {name for name, view in routes() if view.__name__.endswith("ListView")}
    assert listish - set(list_routes()) - PROJECT_TABS == set()
