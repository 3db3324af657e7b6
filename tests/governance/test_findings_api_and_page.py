"""Findings through /api/v1/findings/ and the page /governance/findings/: open ones first, scoped like
risks, filtered by one FilterSet, and triaged (assigned, resolved) only by risk officers and admins."""

from __future__ import annotations

import pytest
from django.utils import timezone

from governance.findings import services as finding_services
from governance.findings.services import FINDING_ALREADY_RESOLVED, FINDINGS_RISK_OFFICERS_ONLY
from governance.models import AuditEvent, Finding
from governance.risks import services
from tests.api_errors import NOT_A_CHOICE, invalid_input
from tests.factories import AIProjectFactory, UserFactory, make_user
from tests.query_counts import assert_queries, get_counting_queries
from tests.risk_factories import overdue_risk

JSON = {"content_type": "application/json"}


@pytest.fixture
def findings(project, other_project, team_lead, other_lead):
    """Three findings opened by the daily rule, then one of them resolved by a review:
    ours-critical (open), ours-high (resolved), theirs-high (open)."""
    ours_critical = overdue_risk(project=project, title="Leak of claims data", likelihood=5, impact=5)
    ours_high = overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=4)
    theirs_high = overdue_risk(project=other_project, title="Churn data leak", likelihood=4, impact=4)
    services.risk_reviews_mark_overdue()
    services.risk_review(by=team_lead, risk=ours_high)
    by_risk = {f.subject_id: f for f in Finding.objects.all()}
    return {
        "ours_critical": by_risk[str(ours_critical.pk)],
        "ours_high": by_risk[str(ours_high.pk)],
        "theirs_high": by_risk[str(theirs_high.pk)],
    }


def titles(items) -> list[str]:
    return [f["title"] if isinstance(f, dict) else f.title for f in items]


CRITICAL = "Review overdue: Leak of claims data (Fraud scoring)"
THEIRS = "Review overdue: Churn data leak (Churn model)"
RESOLVED = "Review overdue: Unfair denials (Fraud scoring)"

SCOPES = [
    ("executive", [CRITICAL, THEIRS, RESOLVED]),
    ("risk_officer", [CRITICAL, THEIRS, RESOLVED]),
    ("admin_user", [CRITICAL, THEIRS, RESOLVED]),
    ("team_lead", [CRITICAL, RESOLVED]),
    ("other_lead", [THEIRS]),
]


@pytest.mark.parametrize(("user_fixture", "expected"), SCOPES)
def test_api_lists_open_findings_first_worst_first_within_the_users_scope(
    client, request, findings, user_fixture, expected
):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get("/api/v1/findings/")
    assert response.status_code == 200
    assert titles(response.json()["results"]) == expected


@pytest.mark.parametrize(("user_fixture", "expected"), SCOPES)
def test_page_lists_open_findings_first_worst_first_within_the_users_scope(
    client, request, findings, user_fixture, expected
):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get("/governance/findings/")
    assert response.status_code == 200
    assert titles(response.context["findings"]) == expected
    assert response.context["open_count"] == sum(1 for t in expected if t != RESOLVED)


def test_api_shows_a_finding_with_its_subject_and_status(client, risk_officer, findings, team_lead):
    client.force_login(risk_officer)
    finding = findings["ours_critical"]
    data = client.get(f"/api/v1/findings/{finding.pk}/").json()
    assert {k: v for k, v in data.items() if k not in ("url", "opened_at", "detail", "due_at")} == {
        "id": finding.pk, "kind": "risk_review_overdue", "kind_label": "Risk review overdue", "severity": "critical",
        "title": CRITICAL, "subject_type": "governance.risk", "subject_id": finding.subject_id,
        "subject_url": f"http://testserver/api/v1/risks/{finding.subject_id}/",
        "subject_label": f"Risk #{finding.subject_id}",
        "subject_page": f"http://testserver/governance/risks/{finding.subject_id}/", "project": "fraud-scoring",
        "project_name": "Fraud scoring", "assignee": "lead", "resolved_at": None, "resolution": "", "is_open": True,
        "is_overdue": False,
    }  # fmt: skip
    finding.refresh_from_db()
    assert data["due_at"] == finding.due_at.isoformat().replace("+00:00", "Z")  # critical: 7 days after opening
    resolved = client.get(f"/api/v1/findings/{findings['ours_high'].pk}/").json()
    assert (resolved["is_open"], resolved["resolution"]) == (False, "The risk was reviewed.")


FILTERS = [
    ({"open": "true"}, [CRITICAL, THEIRS]),
    ({"open": "false"}, [RESOLVED]),
    ({"severity": "critical"}, [CRITICAL]),
    ({"severity": "high"}, [THEIRS, RESOLVED]),
    ({"kind": "risk_review_overdue", "project": "churn-model"}, [THEIRS]),
    ({"assignee": "otherlead"}, [THEIRS]),
    ({"overdue": "false", "open": "true"}, [CRITICAL, THEIRS]),
    ({"overdue": "true"}, []),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_findings_filters_are_the_same_on_the_api_and_the_page(client, risk_officer, findings, params, expected):
    client.force_login(risk_officer)
    assert titles(client.get("/api/v1/findings/", params).json()["results"]) == expected
    assert titles(client.get("/governance/findings/", params).context["findings"]) == expected


def test_a_team_lead_cannot_filter_findings_by_another_teams_project(client, team_lead, findings):
    client.force_login(team_lead)
    response = client.get("/api/v1/findings/", {"project": "churn-model"})
    assert response.status_code == 400
    assert response.json() == invalid_input("project", NOT_A_CHOICE)
    page = client.get("/governance/findings/", {"project": "churn-model"})
    assert list(page.context["findings"]) == []
    assert "Churn" not in page.content.decode()


# --- triage through the API -------------------------------------------------------------------------


def test_risk_officer_assigns_a_finding_and_the_trail_shows_it(client, risk_officer, findings, other_lead):
    client.force_login(risk_officer)
    finding = findings["ours_critical"]
    response = client.post(f"/api/v1/findings/{finding.pk}/assign/", {"assignee": "risk"}, **JSON)
    assert response.status_code == 200
    assert response.json()["assignee"] == "risk"
    finding.refresh_from_db()
    assert finding.assignee == risk_officer
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.before, event.after) == (
        "finding.assigned",
        "risk",
        {"assignee": finding.project.owner.pk},
        {"assignee": risk_officer.pk},
    )
    unassigned = client.post(f"/api/v1/findings/{finding.pk}/assign/", {"assignee": None}, **JSON)
    assert unassigned.json()["assignee"] is None


@pytest.mark.parametrize(
    ("assignee", "message"),
    [
        ("nobody-here", "Object with username=nobody-here does not exist."),
        ("norole", "Object with username=norole does not exist."),
    ],
)
def test_a_finding_can_be_assigned_only_to_an_active_user_with_a_role(
    client, risk_officer, findings, no_role_user, assignee, message
):
    client.force_login(risk_officer)
    finding = findings["ours_critical"]
    events = AuditEvent.objects.count()
    response = client.post(f"/api/v1/findings/{finding.pk}/assign/", {"assignee": assignee}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("assignee", message)
    assert Finding.objects.get(pk=finding.pk).assignee == finding.assignee
    assert AuditEvent.objects.count() == events


def test_risk_officer_resolves_a_finding_by_hand_once(client, risk_officer, findings):
    client.force_login(risk_officer)
    finding = findings["theirs_high"]
    started = timezone.now()
    response = client.post(f"/api/v1/findings/{finding.pk}/resolve/", {"resolution": "False positive."}, **JSON)
    assert response.status_code == 200
    assert (response.json()["is_open"], response.json()["resolution"]) == (False, "False positive.")
    finding.refresh_from_db()
    assert started <= finding.resolved_at <= timezone.now()
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.after) == (
        "finding.resolved",
        "risk",
        {"resolution": "False positive."},
    )

    events = AuditEvent.objects.count()
    again = client.post(f"/api/v1/findings/{finding.pk}/resolve/", {"resolution": "Again."}, **JSON)
    assert again.status_code == 400
    assert again.json() == {"detail": FINDING_ALREADY_RESOLVED, "code": "invalid"}
    assert AuditEvent.objects.count() == events


def test_a_resolution_must_say_something(client, risk_officer, findings):
    client.force_login(risk_officer)
    finding = findings["theirs_high"]
    response = client.post(f"/api/v1/findings/{finding.pk}/resolve/", {"resolution": ""}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("resolution", "This field may not be blank.")
    assert Finding.objects.get(pk=finding.pk).is_open


@pytest.mark.parametrize("user_fixture", ["team_lead", "executive"])
def test_only_risk_officers_and_admins_triage_findings(client, request, findings, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    finding = findings["ours_critical"]
    events = AuditEvent.objects.count()
    assert client.post(f"/api/v1/findings/{finding.pk}/assign/", {"assignee": "lead"}, **JSON).status_code == 403
    assert client.post(f"/api/v1/findings/{finding.pk}/resolve/", {"resolution": "x"}, **JSON).status_code == 403
    assert Finding.objects.get(pk=finding.pk).is_open
    assert AuditEvent.objects.count() == events


def test_the_resolve_service_refuses_a_team_lead_with_the_message(findings, team_lead):
    from core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError, match=FINDINGS_RISK_OFFICERS_ONLY):
        finding_services.finding_resolve(by=team_lead, finding=findings["ours_critical"], resolution="Done.")


# --- triage on the page -----------------------------------------------------------------------------


def test_page_shows_triage_to_a_risk_officer_only_on_open_findings(client, risk_officer, findings):
    client.force_login(risk_officer)
    html = client.get("/governance/findings/").content.decode()
    # The list is compact: one bulk form, a checkbox per open finding; triage is on each finding's page.
    assert html.count('action="/governance/findings/') == 1
    assert html.count('name="findings"') == 2
    assert f'name="findings" value="{findings["ours_high"].pk}"' not in html
    assert '<option value="risk">' in html
    open_page = client.get(f"/governance/findings/{findings['ours_critical'].pk}/").content.decode()
    assert open_page.count('action="/governance/findings/') == 2  # assign + resolve
    resolved_page = client.get(f"/governance/findings/{findings['ours_high'].pk}/").content.decode()
    assert 'action="/governance/findings/' not in resolved_page


def test_page_shows_no_triage_forms_to_a_team_lead(client, team_lead, findings):
    client.force_login(team_lead)
    html = client.get("/governance/findings/").content.decode()
    assert 'action="/governance/findings/' not in html
    assert CRITICAL in html


def test_page_assign_goes_back_to_the_same_filtered_list_and_says_so(client, risk_officer, findings):
    client.force_login(risk_officer)
    finding = findings["ours_critical"]
    back = "/governance/findings/?severity=critical&page=1"
    response = client.post(
        f"/governance/findings/{finding.pk}/assign/", {"assignee": "risk", "next": back}, follow=True
    )
    assert response.redirect_chain == [(back, 302)]
    assert Finding.objects.get(pk=finding.pk).assignee.username == "risk"
    assert [str(m) for m in response.context["messages"]] == [
        f"“{CRITICAL}” assigned to {risk_officer.get_full_name()}."
    ]


def test_page_resolve_records_who_and_how(client, admin_user, findings):
    client.force_login(admin_user)
    finding = findings["theirs_high"]
    response = client.post(f"/governance/findings/{finding.pk}/resolve/", {"resolution": "Duplicate of #12."})
    assert response.status_code == 302
    assert response["Location"] == "/governance/findings/"
    finding.refresh_from_db()
    assert (finding.is_open, finding.resolution) == (False, "Duplicate of #12.")
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr) == ("finding.resolved", "admin")


def test_page_refusals_change_nothing_and_say_why(client, risk_officer, findings):
    client.force_login(risk_officer)
    events = AuditEvent.objects.count()
    blank = client.post(f"/governance/findings/{findings['theirs_high'].pk}/resolve/", {"resolution": ""}, follow=True)
    assert [str(m) for m in blank.context["messages"]] == [f"“{THEIRS}”: This field is required."]
    twice = client.post(f"/governance/findings/{findings['ours_high'].pk}/resolve/", {"resolution": "x"}, follow=True)
    assert [str(m) for m in twice.context["messages"]] == [f"“{RESOLVED}”: {FINDING_ALREADY_RESOLVED}"]
    assert Finding.objects.filter(resolved_at=None).count() == 2
    assert AuditEvent.objects.count() == events


def test_page_never_redirects_off_site(client, risk_officer, findings):
    client.force_login(risk_officer)
    response = client.post(
        f"/governance/findings/{findings['ours_critical'].pk}/assign/",
        {"assignee": "risk", "next": "https://evil.example/phish"},
    )
    assert response["Location"] == "/governance/findings/"


def test_page_empty_states(client, risk_officer, executive, project):
    client.force_login(risk_officer)
    html = client.get("/governance/findings/").content.decode()
    assert "No findings. Nothing needs attention right now." in html
    html = client.get("/governance/findings/", {"severity": "critical"}).content.decode()
    assert "No findings match these filters." in html


def test_page_paginates_fifty_at_a_time_open_first(client, risk_officer, project):
    for n in range(51):
        overdue_risk(project=project, title=f"Risk {n:02}", likelihood=4, impact=4, days_overdue=1 + n)
    services.risk_reviews_mark_overdue()
    client.force_login(risk_officer)
    first = client.get("/governance/findings/")
    second = client.get("/governance/findings/", {"page": 2})
    assert (len(first.context["findings"]), len(second.context["findings"])) == (50, 1)
    assert first.context["page_obj"].paginator.count == 51
    # Same severity: the newest finding first; all were opened in one run, so ties fall back to id.
    assert [f.pk for f in first.context["findings"]] + [f.pk for f in second.context["findings"]] == sorted(
        Finding.objects.values_list("pk", flat=True), reverse=True
    )


def test_findings_link_in_the_navigation_for_every_role(client, executive):
    client.force_login(executive)
    html = client.get("/").content.decode()
    assert '<a href="/governance/findings/"' in html


# --- query counts -----------------------------------------------------------------------------------

SMALL, LARGE = 1, 50


def add_findings(n: int, team) -> None:
    """n findings, each on its own project with its own owner (the assignee)."""
    for _ in range(n):
        project = AIProjectFactory(team=team, owner=UserFactory())
        overdue_risk(project=project, likelihood=4, impact=5, owner=make_user(None))
    services.risk_reviews_mark_overdue()


# Session, user, roles; a team lead's scope costs one more (the teams they lead and belong to).
# API: + COUNT, findings (with project, team, assignee).
# Page: + project and assignee filter choices, COUNT, findings, open count; a risk officer's triage forms
# add the assignable users.
FINDING_LISTS = [
    ("/api/v1/findings/", "risk_officer", 5),
    ("/api/v1/findings/", "team_lead", 6),
    ("/governance/findings/", "risk_officer", 9),
    ("/governance/findings/", "team_lead", 9),
]


def rows_of(response) -> int:
    return len(response.context["findings"]) if response.context else len(response.json()["results"])


@pytest.mark.parametrize(("url", "user_fixture", "budget"), FINDING_LISTS)
def test_finding_lists_cost_the_same_queries_for_one_or_fifty_findings(
    client, request, team, url, user_fixture, budget
):
    client.force_login(request.getfixturevalue(user_fixture))
    add_findings(SMALL, team)
    small, response = get_counting_queries(client, url)
    assert rows_of(response) == SMALL
    add_findings(LARGE - SMALL, team)
    large, response = get_counting_queries(client, url)
    assert rows_of(response) == LARGE
    assert_queries(small, large, equal=budget, what=url)


def test_page_links_each_finding_to_its_own_page_and_to_its_risk(client, executive, findings):
    client.force_login(executive)
    html = client.get("/governance/findings/").content.decode()
    finding = findings["ours_critical"]
    assert f'<a href="/governance/findings/{finding.pk}/">{CRITICAL}</a>' in html
    assert f'<a href="/governance/risks/{finding.subject_id}/">Risk #{finding.subject_id}</a>' in html
