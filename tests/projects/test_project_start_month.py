"""The business case's start month: optional, always the first day of a month, shown with the horizon."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_team_lead_sets_the_start_month_and_the_project_page_shows_it(client, team_lead, project):
    client.force_login(team_lead)
    events = AuditEvent.objects.count()
    response = client.patch(
        f"/api/v1/projects/{project.slug}/", {"start_month": "2026-03-01"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["start_month"] == "2026-03-01"
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.before, event.after) == ("project.updated", {"start_month": None},
                                                          {"start_month": "2026-03-01"})  # fmt: skip
    assert "36 months from Mar 2026" in client.get(f"/projects/{project.slug}/").content.decode()


def test_a_start_month_that_is_not_the_first_of_a_month_is_refused_and_nothing_changes(client, team_lead, project):
    client.force_login(team_lead)
    events = AuditEvent.objects.count()
    response = client.patch(
        f"/api/v1/projects/{project.slug}/", {"start_month": "2026-03-15"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input: start_month.",
        "code": "invalid",
        "start_month": ["A month is stored as its first day (e.g. 2026-11-01), not 2026-03-15."],
    }
    project.refresh_from_db()
    assert project.start_month is None
    assert AuditEvent.objects.count() == events
