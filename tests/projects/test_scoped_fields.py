"""The API's project and team fields are one fail-closed scoped field (core.api.fields.ScopedSlugRelatedField).

They used to be three classes, two of which accepted any slug when no request was in the serializer's
context; now no request means nobody, who may name nothing, and another team's slug reads as unknown.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from projects.api.inventory import ProjectSerializer
from projects.api.registries import RegisteredModelLinkSerializer
from projects.api.roi import ROIBulkSerializer, ROIEntryCreateSerializer

ENTRY = {"month": "2026-01", "kind": "cost", "category": "compute", "basis": "actual", "amount": "10"}


def _context(user):
    request = RequestFactory().get("/")
    request.user = user
    return {"request": request}


def _cases(project):
    """(serializer class, body, field name) for each of the three old uses."""
    return [
        (ROIEntryCreateSerializer, {**ENTRY, "project": project.slug}, "project"),
        (ROIBulkSerializer, {"project": project.slug, "rows": [ENTRY]}, "project"),
        (RegisteredModelLinkSerializer, {"project": project.slug}, "project"),
    ]


def test_without_a_request_no_project_slug_is_accepted(project):
    for serializer_class, body, field in _cases(project):
        serializer = serializer_class(data=body)
        assert not serializer.is_valid(), serializer_class
        assert serializer.errors[field] == [f"Object with slug={project.slug} does not exist."]


def test_without_a_request_no_team_slug_is_accepted(team):
    serializer = ProjectSerializer(data={"team": team.slug})
    assert not serializer.is_valid()
    assert serializer.errors["team"] == [f"Object with slug={team.slug} does not exist."]


def test_a_team_lead_names_their_own_project_but_not_another_teams(team_lead, project, other_project):
    for serializer_class, body, _field in _cases(project):
        assert serializer_class(data=body, context=_context(team_lead)).is_valid(), serializer_class
    for serializer_class, body, field in _cases(other_project):
        serializer = serializer_class(data=body, context=_context(team_lead))
        assert not serializer.is_valid()
        assert serializer.errors[field] == [f"Object with slug={other_project.slug} does not exist."]


def test_a_team_lead_cannot_name_another_team(team_lead, team, other_team):
    serializer = ProjectSerializer(data={"team": other_team.slug}, context=_context(team_lead))
    assert not serializer.is_valid()
    assert serializer.errors["team"] == [f"Object with slug={other_team.slug} does not exist."]
    own = ProjectSerializer(data={"team": team.slug}, context=_context(team_lead))
    own.is_valid()
    assert "team" not in own.errors


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/roi-entries/", lambda slug: {**ENTRY, "project": slug}),
        ("/api/v1/roi-entries/bulk/", lambda slug: {"project": slug, "rows": [ENTRY]}),
        ("/api/v1/risks/", lambda slug: {"project": slug, "title": "x", "category": "privacy"}),
        ("/api/v1/risk-assessments/", lambda slug: {"project": slug}),
    ],
)
def test_another_teams_project_reads_as_unknown_over_the_api(client, team_lead, project, other_project, url, body):
    client.force_login(team_lead)
    response = client.post(url, body(other_project.slug), content_type="application/json")
    assert response.status_code == 400
    assert f"Object with slug={other_project.slug} does not exist." in response.content.decode()


def test_another_team_reads_as_unknown_when_a_team_lead_creates_a_project(client, team_lead, other_team):
    client.force_login(team_lead)
    body = {"name": "Side project", "purpose": "x", "team": other_team.slug, "owner": team_lead.username}
    response = client.post("/api/v1/projects/", body, content_type="application/json")
    assert response.status_code == 400
    assert f"Object with slug={other_team.slug} does not exist." in response.content.decode()
