"""The one scoped relation field fails closed: with no request, nobody sees anything."""

from __future__ import annotations

from django.test import RequestFactory
from rest_framework import serializers

from core.api.fields import ScopedSlugRelatedField
from projects.inventory.selectors import projects_for_user


class _Body(serializers.Serializer):
    project = ScopedSlugRelatedField(scope=projects_for_user)


def test_without_a_request_no_project_is_visible(project):
    body = _Body(data={"project": project.slug})
    assert not body.is_valid()
    assert body.errors["project"] == [f"Object with slug={project.slug} does not exist."]


def test_a_team_lead_sees_their_own_project_and_not_another_teams(project, other_project, team_lead):
    request = RequestFactory().get("/")
    request.user = team_lead
    assert _Body(data={"project": project.slug}, context={"request": request}).is_valid()
    refused = _Body(data={"project": other_project.slug}, context={"request": request})
    assert not refused.is_valid()
    assert refused.errors["project"] == [f"Object with slug={other_project.slug} does not exist."]
