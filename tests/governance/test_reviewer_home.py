"""A reviewer's home (risk officer, DPO) says what waits for *them*: the sign-offs waiting for a role they
hold (naming that role), the findings assigned to them, and the risk reviews overdue or due this week,
each with its count, links and an empty state; in a fixed number of queries however large the portfolio."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.findings.services import finding_open
from governance.models import Finding, FindingKind, Risk, RiskStatus, Severity
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject
from tests.query_counts import assert_queries, get_counting_queries
from tests.risk_factories import RiskFactory, overdue_risk
from tests.signoff_factories import approve, assess, compliance_officer, linked_version, pending_request

pytestmark = pytest.mark.django_db


def waiting(client) -> str:
    return client.get("/").content.decode().split('id="waiting-for-you"')[1].split("</section>")[0]


def test_the_dpo_sees_a_high_risk_sign_off_waiting_for_the_dpo_role(client, project, team_lead, risk_officer):
    assess(project, "high")  # the high-risk policy asks for a risk officer and a DPO
    request = pending_request(linked_version(project), team_lead)
    approve(request, risk_officer)  # the risk officer's role is filled: only the DPO's waits
    dpo = compliance_officer("dpo")
    client.force_login(dpo)
    section = waiting(client)
    assert 'id="count-signoffs">1</a>' in section
    assert f'<a href="/governance/signoffs/{request.pk}/">Sign-off #{request.pk}</a>' in section
    assert '<span class="badge waiting-role">Compliance officer / DPO</span>' in section
    # The risk officer, who approved already, has nothing waiting.
    client.force_login(risk_officer)
    section = waiting(client)
    assert 'id="count-signoffs">0</a>' in section
    assert "No sign-off waits for a role you hold." in section


def test_a_reviewer_sees_the_findings_assigned_to_them_with_their_due_dates(client, project, risk_officer, team_lead):
    mine = finding_open(kind=FindingKind.SIGNOFF_EXPIRED, severity=Severity.CRITICAL, title="Mine, late",
                        detail="", subject_type="governance.signoffrequest", subject_id="5", project=project,
                        assignee=risk_officer)  # fmt: skip
    Finding.objects.filter(pk=mine.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    finding_open(kind=FindingKind.VALUE_DECAY, severity=Severity.MEDIUM, title="Mine, on time", detail="",
                 subject_type="projects.aiproject", subject_id=str(project.pk), project=project,
                 assignee=risk_officer)  # fmt: skip
    finding_open(kind=FindingKind.VALUE_DECAY, severity=Severity.HIGH, title="Someone else's", detail="",
                 subject_type="projects.aiproject", subject_id="999", project=project, assignee=team_lead)  # fmt: skip
    client.force_login(risk_officer)
    response = client.get("/")
    home = response.context["reviewer_home"]
    assert [f.title for f, _ in home["my_findings"]] == ["Mine, late", "Mine, on time"]  # worst first
    assert (home["my_findings_count"], home["my_findings_overdue"]) == (2, 1)
    section = waiting(client)
    assert f'<a href="/governance/findings/{mine.pk}/">Mine, late</a>' in section
    assert '<a href="/governance/signoffs/5/">Sign-off #5</a>' in section  # its subject
    assert "1 overdue" in section
    assert 'href="/governance/findings/?open=true&amp;assignee=risk"' in section


def test_a_reviewer_sees_risk_reviews_overdue_or_due_this_week(client, project, risk_officer):
    late = overdue_risk(project=project, likelihood=4, impact=4, title="Late review", days_overdue=3)
    soon = RiskFactory(project=project, title="Due soon", likelihood=4, impact=4)
    Risk.objects.filter(pk=soon.pk).update(next_review_date=timezone.localdate() + dt.timedelta(days=5))
    later = RiskFactory(project=project, title="Due later", likelihood=4, impact=4)  # in 90 days
    closed = overdue_risk(project=project, likelihood=4, impact=4, title="Closed one")
    Risk.objects.filter(pk=closed.pk).update(status=RiskStatus.CLOSED)
    client.force_login(risk_officer)
    home = client.get("/").context["reviewer_home"]
    assert [r.title for r in home["reviews"]] == ["Late review", "Due soon"]
    assert (home["reviews_count"], home["reviews_overdue"]) == (2, 1)
    section = waiting(client)
    assert f'<a href="/governance/risks/{late.pk}/">Late review</a>' in section
    assert section.count('<span class="badge overdue">overdue</span>') == 1
    assert later.title not in section


def test_a_reviewer_with_nothing_waiting_is_told_so_for_each_list(client, risk_officer):
    client.force_login(risk_officer)
    section = waiting(client)
    assert "No sign-off waits for a role you hold." in section
    assert "No open finding is assigned to you." in section
    assert "No risk review is overdue or due this week." in section
    assert "No open findings." in section


def test_a_team_lead_and_an_executive_get_no_reviewer_home(client, team_lead, executive):
    for user in (team_lead, executive):
        client.force_login(user)
        assert 'id="waiting-for-you"' not in client.get("/").content.decode()


# --- query counts -----------------------------------------------------------------------------------


def add_reviewer_work(prefix: str, reviewer, author) -> None:
    """For every project: a risk due this week, one overdue, and a finding assigned to the reviewer;
    every fifth project: a high tier and a pending sign-off waiting for the reviewer's role."""
    today = timezone.localdate()
    projects = list(AIProject.objects.filter(slug__startswith=f"{prefix}-").order_by("pk"))
    risks = []
    for p in projects:
        for offset in (-2, 3):
            risk = Risk(project=p, title=f"{p.slug} {offset}", category="robustness", likelihood=4, impact=4,
                        residual_likelihood=4, residual_impact=4, owner=author, status=RiskStatus.OPEN,
                        next_review_date=today + dt.timedelta(days=offset), review_overdue=offset < 0)  # fmt: skip
            risk.compute_scores()
            risks.append(risk)
    Risk.objects.bulk_create(risks, batch_size=500)
    now = timezone.now()
    Finding.objects.bulk_create(
        [Finding(kind=FindingKind.VALUE_DECAY, severity=Severity.values[i % 4], title=f"Finding {p.slug}",
                 subject_type="projects.aiproject", subject_id=str(p.pk), project=p, assignee=reviewer,
                 due_at=now + dt.timedelta(days=i % 3 - 1)) for i, p in enumerate(projects)]
    )  # fmt: skip
    for p in projects[::50]:
        assess(p, "high")
        pending_request(linked_version(p, model=f"model-{p.slug}"), p.owner)


@pytest.mark.parametrize("reviewer_fixture", ["risk_officer", "dpo"])
def test_the_reviewer_home_costs_the_same_queries_for_10_and_500_projects(client, request, team_lead, reviewer_fixture):
    reviewer = request.getfixturevalue(reviewer_fixture)
    seed_portfolio(scale=10, months=1, prefix="small")
    add_reviewer_work("small", reviewer, team_lead)
    client.force_login(reviewer)
    small, response = get_counting_queries(client, "/")
    assert response.context["reviewer_home"]["signoffs_count"] == 1
    seed_portfolio(scale=490, months=1, prefix="large")
    add_reviewer_work("large", reviewer, team_lead)
    assert AIProject.objects.count() == 500
    large, response = get_counting_queries(client, "/")
    home = response.context["reviewer_home"]
    assert (home["signoffs_count"], home["my_findings_count"], home["reviews_count"]) == (11, 500, 1000)
    assert_queries(small, large, what="/ (reviewer home)")


@pytest.fixture
def dpo(db):
    return compliance_officer("dpo")


def test_the_dpo_home_counts_the_pii_columns_to_confirm_as_the_workspace_does(client, risk_officer, admin_user):
    from governance.compliance.services import classification_assert
    from tests.pii_factories import dataset, fld

    customers = dataset("crm.customers", "email", "phone", "iban", "signup_date")
    classification_assert(by=admin_user, dataset=customers, field=fld(customers, "email"), pii_kind="email")
    dpo = compliance_officer("dpo")
    client.force_login(dpo)
    section = waiting(client)
    # phone and iban look like personal data and wait to be confirmed; email is classified; signup_date is not PII.
    assert 'href="/governance/pii/?pii=suggested" id="count-pii-suggested">2</a>' in section
    assert "1 dataset with PII lacks a legal basis or owner" in section
    workspace = client.get("/governance/pii/").content.decode()
    assert "Suggested columns to confirm" in workspace
    # The tile is the DPO's: a risk officer (who may classify too) keeps the three reviewer tiles.
    client.force_login(risk_officer)
    assert 'id="count-pii-suggested"' not in waiting(client)
