"""The audit trail reads as sentences: one per event, built from actor, action and subject, linking to the
subject while it exists; every action Keel records has its sentence, and an unknown one still reads."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import transaction

from core import audit
from governance.audit.sentences import GENERIC, SENTENCES, SYSTEM, describe, describe_events
from governance.audit.subjects import Named
from governance.models import AuditEvent, RiskStatus, SignOffStatus
from projects.inventory import services as inventory
from projects.models import RiskTier, Stage
from tests.exports import csv_dicts
from tests.factories import AIProjectFactory, make_user
from tests.query_counts import assert_queries, capture_queries
from tests.signoff_factories import approved_request, assess, linked_version

ROOT = Path(__file__).resolve().parents[2]
# A literal action as services write it: action="x.y", gone_action="x.y", action = "x.y", or either
# branch of `"x.y" if ... else "x.z"`.
LITERAL = re.compile(
    r"""\b(?:gone_)?action\s*=\s*(?:f?"([a-z_]+\.[a-z_{}]+)"(?:\s+if\s.+?\selse\s"([a-z_]+\.[a-z_]+)")?)"""
)
# Actions built from a status: the statuses each can take.
TEMPLATED = {
    "signoff.{status}": [s for s in SignOffStatus.values if s not in ("pending", "withdrawn", "requested")],
    "risk.{status}": list(RiskStatus.values),
}


def recorded_actions() -> set[str]:
    """Every action string the application code records (services, the sync, rules, commands)."""
    found: set[str] = set()
    for folder in ("core", "projects", "governance"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in LITERAL.finditer(path.read_text()):
                for action in filter(None, match.groups()):
                    if action in TEMPLATED:
                        prefix = action.split(".")[0]
                        found.update(f"{prefix}.{status}" for status in TEMPLATED[action])
                    else:
                        found.add(action)
    return found


def test_the_scan_finds_actions_of_every_kind():
    """A scan that found nothing would let any action through."""
    actions = recorded_actions()
    assert {
        "project.created",  # model_create(action=...)
        "registered_model.deleted",  # gone_action=...
        "dataset.model_unlinked",  # the else branch of a conditional
        "signoff.expired",  # f"signoff.{status}"
        "risk.mitigating",  # f"risk.{status}"
        "audit.verification_requested",
    } <= actions
    assert not any("{" in a for a in actions)


def test_every_action_keel_records_has_its_own_sentence():
    missing = sorted(recorded_actions() - set(SENTENCES))
    assert missing == [], f"add a sentence to governance/audit/sentences.py for: {missing}"


def event(action: str, *, actor_repr="system", actor_id=None, object_type="", object_id="", before=None, after=None):
    return SimpleNamespace(
        action=action, actor_id=actor_id, actor_repr=actor_repr, object_type=object_type, object_id=object_id,
        before=before, after=after,
    )  # fmt: skip


@pytest.mark.parametrize("action", sorted(SENTENCES))
def test_every_sentence_reads_even_when_the_event_carries_no_detail(action):
    described = describe(event(action), actor=SYSTEM, subject=Named("project “Fraud scoring”", "/projects/fraud/"))
    assert described.sentence.startswith("Keel ")
    assert "project “Fraud scoring”" in described.sentence
    assert "{" not in described.sentence
    assert action not in described.sentence
    assert described.url == "/projects/fraud/"


def test_an_unknown_action_reads_as_the_generic_sentence():
    described = describe(event("roi_entry.teleported"), actor="Lena Moreau", subject=Named("ROI entry #4"))
    assert GENERIC == "{actor} recorded “{action}” on {subject}"
    assert described.sentence == "Lena Moreau recorded “roi_entry.teleported” on ROI entry #4"
    assert described.url is None


def test_a_detail_the_event_carries_goes_into_its_sentence():
    moved = event("project.stage_changed", before={"stage": "idea"}, after={"stage": "design"})
    assert describe(moved, actor="Ada Brandt", subject=Named("project “Fraud scoring”")).sentence == (
        "Ada Brandt moved project “Fraud scoring” from idea to design"
    )


@pytest.mark.django_db
def test_an_approval_reads_with_the_reviewers_name_and_links_to_the_sign_off(project, team_lead):
    ravi = make_user("ravi", "Risk Officer", first_name="Ravi", last_name="Lindqvist")
    assess(project, RiskTier.MINIMAL, by=team_lead)
    request = approved_request(linked_version(project, model="claims-fraud-scorer", version="4"), team_lead, ravi)
    approved = AuditEvent.objects.get(action="signoff.approved")
    [described] = describe_events([approved])
    assert described.sentence == f"Ravi Lindqvist approved sign-off #{request.pk} of claims-fraud-scorer v4"
    assert described.url == f"/governance/signoffs/{request.pk}/"


@pytest.mark.django_db
def test_a_deleted_subject_is_named_from_the_event_and_not_linked(admin_user, team, team_lead):
    doomed = AIProjectFactory(name="Doomed pilot", team=team, owner=team_lead)
    inventory.project_delete(by=admin_user, project=doomed)
    created, deleted = AuditEvent.objects.filter(object_type="projects.aiproject").order_by("seq")
    admin_name = admin_user.get_full_name()
    assert [(d.sentence, d.url) for d in describe_events([created, deleted])] == [
        ("Keel registered project “Doomed pilot”", None),
        (f"{admin_name} deleted project “Doomed pilot”", None),
    ]


@pytest.mark.django_db
def test_a_subject_that_exists_is_linked_and_the_system_is_named_keel(project, admin_user):
    inventory.project_change_stage(by=admin_user, project=project, stage=Stage.DESIGN)
    created = AuditEvent.objects.get(action="project.created")
    moved = AuditEvent.objects.get(action="project.stage_changed")
    admin_name = admin_user.get_full_name()
    admin_name = admin_user.get_full_name()
    assert [(d.sentence, d.url) for d in describe_events([created, moved])] == [
        ("Keel registered project “Fraud scoring”", f"/projects/{project.slug}/"),
        (f"{admin_name} moved project “Fraud scoring” from idea to design", f"/projects/{project.slug}/"),
    ]


@pytest.mark.django_db
def test_an_unknown_object_type_or_malformed_id_still_reads(project):
    with transaction.atomic():
        audit.record(actor=None, action="gate.denied", object_type="gate", object_id="mlflow/ghost")
        audit.record(actor=None, action="risk.reviewed", object_type="governance.risk", object_id="not-a-number")
    gate, risk = AuditEvent.objects.filter(action__in=["gate.denied", "risk.reviewed"]).order_by("seq")
    assert [(d.sentence, d.url) for d in describe_events([gate, risk])] == [
        ("Keel asked the gate about gate mlflow/ghost: denied", None),
        ("Keel reviewed risk #not-a-number", None),
    ]


@pytest.mark.django_db
def test_the_audit_page_shows_each_event_as_a_linked_sentence(client, risk_officer, project):
    client.force_login(risk_officer)
    html = client.get("/governance/audit/", {"action": "project.created"}).content.decode()
    assert f'<a href="/projects/{project.slug}/">Keel registered project “Fraud scoring”</a>' in html


@pytest.mark.django_db
def test_the_audit_export_carries_the_sentence_and_an_absolute_link(client, risk_officer, project, settings):
    settings.KEEL_BASE_URL = "https://keel.example.org"
    client.force_login(risk_officer)
    response = client.get("/governance/audit/", {"action": "project.created", "export": "csv"})
    [row] = csv_dicts(response)
    assert row["description"] == "Keel registered project “Fraud scoring”"
    assert row["subject_url"] == f"https://keel.example.org/projects/{project.slug}/"


def trail_of(n: int, team, lead) -> None:
    """n projects registered and moved, so the page shows events of two object types and many subjects."""
    for i in range(n):
        p = AIProjectFactory(name=f"Project {i}", team=team, owner=lead)
        inventory.project_change_stage(by=lead, project=p, stage=Stage.DESIGN)


PROJECT_EVENTS = {"object_type": "projects.aiproject"}  # the same object types on both pages


@pytest.mark.django_db
def test_the_audit_page_runs_the_same_queries_for_10_and_500_events(client, risk_officer, team, team_lead):
    client.force_login(risk_officer)
    trail_of(5, team, team_lead)
    with capture_queries() as small:
        assert client.get("/governance/audit/", PROJECT_EVENTS).status_code == 200
    trail_of(245, team, team_lead)
    with capture_queries() as large:
        response = client.get("/governance/audit/", PROJECT_EVENTS)
    assert response.context["page_obj"].paginator.count == 500
    assert_queries(small.count, large.count, what="the audit page")
