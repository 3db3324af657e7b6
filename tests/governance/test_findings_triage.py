"""Findings are actionable: each links to its subject, has a due date from its severity, opens on its own
page for triage, and many can be assigned or resolved at once (all or nothing, each change audited)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import resolve
from django.utils import timezone

from core import audit
from governance.findings import services as finding_services
from governance.findings.subjects import KIND_DESCRIPTIONS, KIND_SUBJECT_TYPES, finding_subject
from governance.models import AuditEvent, Finding, FindingKind, Severity
from governance.models.findings import finding_due_at
from tests.factories import AIProjectFactory, make_user
from tests.query_counts import assert_queries, get_counting_queries

pytestmark = pytest.mark.django_db


def open_finding(*, kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.HIGH, project=None, subject_id="1",
                 subject_type=None, assignee=None, title=None) -> Finding:  # fmt: skip
    return finding_services.finding_open(
        kind=kind, severity=severity, title=title or f"{kind} {subject_id}", detail="", project=project,
        subject_type=subject_type or KIND_SUBJECT_TYPES[kind], subject_id=subject_id, assignee=assignee,
    )  # fmt: skip


# --- subjects ---------------------------------------------------------------------------------------

EXPECTED_SUBJECT_PAGES = {
    FindingKind.RISK_REVIEW_OVERDUE: ("Risk #7", "/governance/risks/7/"),
    FindingKind.RISK_ACCEPTANCE_EXPIRED: ("Risk #7", "/governance/risks/7/"),
    FindingKind.DEPLOYED_WITHOUT_APPROVAL: ("Model version #7", "/projects/fraud-scoring/#models"),
    FindingKind.SIGNOFF_INVALIDATED: ("Sign-off #7", "/governance/signoffs/7/"),
    FindingKind.SIGNOFF_EXPIRED: ("Sign-off #7", "/governance/signoffs/7/"),
    FindingKind.VALUE_DECAY: ("Fraud scoring", "/projects/fraud-scoring/roi/"),
    FindingKind.OBLIGATION_UNMET: ("Obligation #7", "/governance/projects/fraud-scoring/compliance/#obligations-h"),
    FindingKind.EVIDENCE_STALE: ("Obligation #7", "/governance/projects/fraud-scoring/compliance/#obligations-h"),
    FindingKind.UNOWNED_PRODUCTION_MODEL: ("Registry model #7", None),  # the registry's page, where it exists
    FindingKind.MODEL_REFERENCE_UNRESOLVED: ("Dataset #7", "/governance/datasets/7/"),
    FindingKind.SIGNAL_BREACHED: ("Monitored signal #7", "/governance/projects/fraud-scoring/monitoring/"),
    FindingKind.SIGNAL_STALE: ("Monitored signal #7", "/governance/projects/fraud-scoring/monitoring/"),
    FindingKind.METRIC_THRESHOLD_BREACHED: ("Model version #7", "/projects/fraud-scoring/#models"),
}


def test_every_finding_kind_has_a_subject_type_a_description_and_an_expected_page():
    assert set(KIND_SUBJECT_TYPES) == set(FindingKind.values)
    assert set(KIND_DESCRIPTIONS) == set(FindingKind.values)
    assert set(EXPECTED_SUBJECT_PAGES) == set(FindingKind.values)


@pytest.mark.parametrize("kind", FindingKind.values)
def test_every_finding_kind_links_to_its_subjects_page(kind, project):
    finding = Finding(kind=kind, subject_type=KIND_SUBJECT_TYPES[kind], subject_id="7", project=project)
    subject = finding_subject(finding)
    label, url = EXPECTED_SUBJECT_PAGES[kind]
    assert subject.label == label
    if url is None:
        assert subject.url.startswith("/projects/registries/")
    else:
        assert subject.url == url
    resolve(subject.url.split("#")[0])  # a page Keel serves


def test_a_dataset_subject_links_to_the_dataset_and_an_unknown_one_to_nothing():
    assert finding_subject(Finding(subject_type="governance.dataset", subject_id="3")).url == "/governance/datasets/3/"
    assert finding_subject(Finding(subject_type="elsewhere.thing", subject_id="3")).url == ""


def test_the_subject_link_reaches_a_page_the_risk_officer_can_open(client, risk_officer, project):
    from tests.risk_factories import RiskFactory

    risk = RiskFactory(project=project)
    finding = open_finding(project=project, subject_id=str(risk.pk))
    client.force_login(risk_officer)
    page = client.get(f"/governance/findings/{finding.pk}/").content.decode()
    assert f'<a href="/governance/risks/{risk.pk}/" id="finding-subject">Risk #{risk.pk}</a>' in page
    assert client.get(f"/governance/risks/{risk.pk}/").status_code == 200


# --- due dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "days"), [("critical", 7), ("high", 14), ("medium", 30), ("low", 90)])
def test_a_finding_is_due_a_number_of_days_after_it_opens_set_by_its_severity(severity, days):
    finding = open_finding(severity=severity)
    assert finding.due_at - finding.opened_at == dt.timedelta(days=days)
    event = AuditEvent.objects.get(action="finding.opened", object_id=str(finding.pk))
    assert event.after["due_at"] == audit.json_value(finding.due_at)


def test_the_due_days_come_from_the_setting(settings):
    settings.KEEL_FINDING_DUE_DAYS = {"critical": 1, "high": 2, "medium": 3, "low": 4}
    finding = open_finding(severity=Severity.HIGH)
    assert finding.due_at - finding.opened_at == dt.timedelta(days=2)
    # A severity the setting does not name gets the longest delay, never no due date.
    assert finding_due_at("unheard-of", finding.opened_at) - finding.opened_at == dt.timedelta(days=4)


def test_the_migration_fills_the_due_date_of_existing_findings():
    import importlib

    from django.apps import apps

    fill = importlib.import_module("governance.migrations.0012_finding_due_at_fill").fill_due_at
    old = open_finding(severity=Severity.MEDIUM)
    Finding.objects.filter(pk=old.pk).update(due_at=None)
    fill(apps, None)
    old.refresh_from_db()
    assert old.due_at - old.opened_at == dt.timedelta(days=30)


def test_an_open_finding_past_its_due_date_is_overdue_and_the_filter_finds_it(client, risk_officer):
    late = open_finding(subject_id="1", title="Late")
    on_time = open_finding(subject_id="2", title="On time")
    done = open_finding(subject_id="3", title="Done late")
    Finding.objects.filter(pk__in=[late.pk, done.pk]).update(due_at=timezone.now() - dt.timedelta(days=1))
    finding_services.finding_resolve(by=risk_officer, finding=done, resolution="Fixed.")
    assert [Finding.objects.get(pk=f.pk).is_overdue for f in (late, on_time, done)] == [True, False, False]
    client.force_login(risk_officer)
    overdue = client.get("/governance/findings/", {"overdue": "true"}).context["findings"]
    assert [f.title for f in overdue] == ["Late"]
    not_overdue = client.get("/governance/findings/", {"overdue": "false"}).context["findings"]
    assert sorted(f.title for f in not_overdue) == ["Done late", "On time"]
    html = client.get("/governance/findings/").content.decode()
    assert html.count('<span class="badge overdue">Overdue</span>') == 1


def test_the_findings_page_filters_by_kind_and_describes_every_kind(client, executive, project):
    open_finding(kind=FindingKind.VALUE_DECAY, project=project, subject_id=str(project.pk), title="Decay")
    open_finding(kind=FindingKind.SIGNOFF_EXPIRED, project=project, subject_id="4", title="Expired")
    client.force_login(executive)
    response = client.get("/governance/findings/", {"kind": "value_decay"})
    assert [f.title for f in response.context["findings"]] == ["Decay"]
    html = response.content.decode()
    for kind in FindingKind:
        assert f"<dt>{kind.label}</dt>" in html
    assert '<a href="/projects/fraud-scoring/roi/">Fraud scoring</a>' in html


# --- bulk triage ------------------------------------------------------------------------------------


@pytest.fixture
def three(project, other_project):
    return [
        open_finding(project=project, subject_id="1", title="One"),
        open_finding(project=project, subject_id="2", title="Two"),
        open_finding(project=other_project, subject_id="3", title="Three"),
    ]


def test_a_risk_officer_assigns_many_findings_at_once_each_audited(client, risk_officer, team_lead, three):
    client.force_login(risk_officer)
    events = AuditEvent.objects.count()
    response = client.post(
        "/governance/findings/bulk/",
        {"action": "assign", "assignee": "lead", "findings": [three[0].pk, three[2].pk],
         "next": "/governance/findings/?open=true"},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain == [("/governance/findings/?open=true", 302)]
    who = team_lead.get_full_name()
    assert [str(m) for m in response.context["messages"]] == [f"2 finding(s) assigned to {who} (2 changed)."]
    assert [f.assignee for f in Finding.objects.order_by("pk")] == [team_lead, None, team_lead]
    assigned = AuditEvent.objects.filter(seq__gt=events)
    assert sorted((e.action, e.object_id, e.after["assignee"]) for e in assigned) == sorted(
        [("finding.assigned", str(three[0].pk), team_lead.pk), ("finding.assigned", str(three[2].pk), team_lead.pk)]
    )
    assert {e.actor_repr for e in assigned} == {"risk"}


def test_a_compliance_officer_resolves_many_findings_with_one_resolution(client, three):
    from core.roles import Role

    dpo = make_user("dpo", Role.COMPLIANCE)
    client.force_login(dpo)
    response = client.post(
        "/governance/findings/bulk/",
        {"action": "resolve", "resolution": "False positives: test models.", "findings": [three[0].pk, three[1].pk]},
    )
    assert response.status_code == 302
    assert [(f.is_open, f.resolution) for f in Finding.objects.order_by("pk")] == [
        (False, "False positives: test models."), (False, "False positives: test models."), (True, ""),
    ]  # fmt: skip
    resolved = AuditEvent.objects.filter(action="finding.resolved")
    assert sorted(e.object_id for e in resolved) == sorted([str(three[0].pk), str(three[1].pk)])
    assert {e.actor_repr for e in resolved} == {"dpo"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "resolve", "resolution": "", "findings": "FIRST"}, finding_services.RESOLUTION_REQUIRED),
        ({"action": "resolve", "resolution": "x"}, finding_services.BULK_NONE_CHOSEN),
        ({"action": "resolve", "resolution": "x", "findings": ["FIRST", "abc"]}, "Choose findings from the list."),
        ({"action": "resolve", "resolution": "x", "findings": ["FIRST", 999999]},
         finding_services.BULK_NOT_VISIBLE.format(ids="#999999")),
        ({"action": "resolve", "resolution": "x", "findings": ["FIRST", "RESOLVED"]}, "RESOLVED_MESSAGE"),
        ({"action": "explode", "findings": ["FIRST"]},
         "Select a valid choice. explode is not one of the available choices."),
    ],
)  # fmt: skip
def test_a_refused_bulk_action_changes_nothing_and_says_why(client, risk_officer, three, data, message):
    resolved = three[2]
    finding_services.finding_resolve(by=risk_officer, finding=resolved, resolution="Earlier.")

    def sub(value):
        return {"FIRST": three[0].pk, "RESOLVED": resolved.pk}.get(value, value)

    data = {k: ([sub(v) for v in value] if isinstance(value, list) else sub(value)) for k, value in data.items()}
    if message == "RESOLVED_MESSAGE":
        message = finding_services.BULK_ALREADY_RESOLVED.format(ids=f"#{resolved.pk}")
    client.force_login(risk_officer)
    before = list(Finding.objects.order_by("pk").values_list("resolved_at", "assignee_id"))
    events = AuditEvent.objects.count()
    response = client.post("/governance/findings/bulk/", data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [message]
    assert list(Finding.objects.order_by("pk").values_list("resolved_at", "assignee_id")) == before
    assert AuditEvent.objects.count() == events


def test_a_team_lead_cannot_bulk_triage_even_their_own_findings(client, team_lead, three):
    client.force_login(team_lead)
    response = client.post(
        "/governance/findings/bulk/", {"action": "resolve", "resolution": "x", "findings": [three[0].pk]}
    )
    assert response.status_code == 403
    assert Finding.objects.get(pk=three[0].pk).is_open
    with pytest.raises(finding_services.PermissionDeniedError):
        finding_services.findings_resolve(by=team_lead, ids=[three[0].pk], resolution="x")


def test_bulk_triage_is_scoped_to_the_findings_the_caller_may_see(three, team_lead, monkeypatch):
    """A manager who could see only some findings (scope_to_user) cannot touch the others by id."""
    from governance.findings import services as svc

    monkeypatch.setattr(svc, "can_manage_findings", lambda user: True)
    with pytest.raises(svc.DomainError, match=f"#{three[2].pk}"):
        svc.findings_assign(by=team_lead, ids=[three[0].pk, three[2].pk], assignee=team_lead)
    assert Finding.objects.filter(assignee__isnull=False).count() == 0


def test_the_list_offers_bulk_actions_only_to_managers_with_open_findings(client, risk_officer, executive, three):
    client.force_login(executive)
    assert 'action="/governance/findings/bulk/"' not in client.get("/governance/findings/").content.decode()
    client.force_login(risk_officer)
    html = client.get("/governance/findings/").content.decode()
    assert 'action="/governance/findings/bulk/"' in html
    assert html.count('type="checkbox" name="findings"') == 3


# --- the finding's page -----------------------------------------------------------------------------


def test_a_findings_page_is_scoped_like_the_list(client, team_lead, other_lead, three):
    client.force_login(other_lead)
    assert client.get(f"/governance/findings/{three[0].pk}/").status_code == 404
    assert client.get(f"/governance/findings/{three[2].pk}/").status_code == 200
    client.force_login(team_lead)
    page = client.get(f"/governance/findings/{three[0].pk}/").content.decode()
    assert "<h1>One</h1>" in page
    assert 'id="triage"' not in page  # a team lead reads, does not triage


def test_triage_on_the_findings_page_comes_back_to_it(client, risk_officer, three):
    client.force_login(risk_officer)
    url = f"/governance/findings/{three[0].pk}/"
    response = client.post(f"{url}assign/", {"assignee": "risk", "next": url}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert Finding.objects.get(pk=three[0].pk).assignee == risk_officer
    history = f"/governance/audit/?object_type=governance.finding&amp;object_id={three[0].pk}"
    assert f'<a href="{history}">Audit history of this finding</a>' in response.content.decode()
    assert [str(m) for m in response.context["messages"]] == [f"“One” assigned to {risk_officer.get_full_name()}."]


# --- export -----------------------------------------------------------------------------------------


def test_the_export_has_the_due_date_and_subject_and_finding_urls(client, risk_officer, project):
    from tests.risk_factories import RiskFactory

    risk = RiskFactory(project=project)
    finding = open_finding(project=project, subject_id=str(risk.pk), title="=HYPERLINK(1)")
    client.force_login(risk_officer)
    response = client.get("/governance/findings/", {"export": "csv", "kind": "risk_review_overdue"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["due_at"].startswith(finding.due_at.strftime("%Y-%m-%d"))
    assert row["overdue"] == "no"
    assert row["subject"] == f"Risk #{risk.pk}"
    assert row["subject_url"] == f"http://testserver/governance/risks/{risk.pk}/"
    assert row["finding_url"] == f"http://testserver/governance/findings/{finding.pk}/"
    assert not row["title"].startswith("=")  # formula-safe
    xlsx = client.get("/governance/findings/", {"export": "xlsx"})
    assert xlsx.status_code == 200


# --- query counts -----------------------------------------------------------------------------------


def add_findings(n: int, projects, start: int = 0) -> None:
    kinds = FindingKind.values
    assignee = make_user(None)
    for i in range(start, start + n):
        kind = kinds[i % len(kinds)]
        Finding.objects.create(
            kind=kind, severity=Severity.values[i % 4], title=f"F{i}", subject_type=KIND_SUBJECT_TYPES[kind],
            subject_id=str(10_000 + i), project=projects[i % len(projects)], assignee=assignee,
            due_at=timezone.now() + dt.timedelta(days=(i % 3) - 1),
        )  # fmt: skip


@pytest.mark.parametrize("params", [{}, {"overdue": "true"}, {"kind": "value_decay"}, {"export": "csv"}])
def test_the_findings_list_costs_the_same_queries_for_10_and_500_findings(client, risk_officer, team, params):
    projects = [AIProjectFactory(team=team) for _ in range(5)]
    client.force_login(risk_officer)
    add_findings(10, projects)
    small, _ = get_counting_queries(client, "/governance/findings/", params)
    add_findings(490, projects, start=10)
    large, _ = get_counting_queries(client, "/governance/findings/", params)
    assert_queries(small, large, what=f"/governance/findings/ {params}")
