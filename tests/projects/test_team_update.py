"""team_update: one error type with the other services, and no write when nothing changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.services import NOT_EDITABLE
from governance.models import AuditEvent
from projects.inventory.services import team_update
from projects.models import Team
from tests.api_errors import invalid_input


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_team_patch_with_nothing_writes_nothing(admin_client, team):
    before = Team.objects.values().get(pk=team.pk)
    events = AuditEvent.objects.count()

    response = admin_client.patch(f"/api/v1/teams/{team.slug}/", {}, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["name"] == "Claims"
    assert Team.objects.values().get(pk=team.pk) == before  # updated_at included
    assert AuditEvent.objects.count() == events


def test_team_patch_with_the_same_values_writes_nothing(admin_client, team, team_lead):
    before = Team.objects.values().get(pk=team.pk)
    events = AuditEvent.objects.count()

    response = admin_client.patch(
        f"/api/v1/teams/{team.slug}/", {"name": "Claims", "lead": team_lead.username}, content_type="application/json"
    )

    assert response.status_code == 200
    assert Team.objects.values().get(pk=team.pk) == before
    assert AuditEvent.objects.count() == events


def test_team_patch_that_changes_a_field_saves_and_audits_it(admin_client, team):
    before = Team.objects.get(pk=team.pk)
    events = AuditEvent.objects.count()

    response = admin_client.patch(
        f"/api/v1/teams/{team.slug}/", {"description": "Claims handling"}, content_type="application/json"
    )

    assert response.status_code == 200
    after = Team.objects.get(pk=team.pk)
    assert after.description == "Claims handling"
    assert after.updated_at > before.updated_at
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(seq=events + 1)
    assert event.action == "team.updated"
    assert event.before == {"description": ""}
    assert event.after == {"description": "Claims handling"}


def test_team_patch_with_bad_input_is_a_400_naming_the_field_and_writes_nothing(admin_client, team):
    before = Team.objects.values().get(pk=team.pk)
    events = AuditEvent.objects.count()

    response = admin_client.patch(f"/api/v1/teams/{team.slug}/", {"name": ""}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == invalid_input("name", "This field may not be blank.")
    assert Team.objects.values().get(pk=team.pk) == before
    assert AuditEvent.objects.count() == events


def test_team_update_refuses_an_unknown_field_with_a_validation_error(admin_user, team):
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        team_update(by=admin_user, team=team, colour="red")

    assert refused.value.message_dict == {"colour": [NOT_EDITABLE]}
    assert AuditEvent.objects.count() == events


def test_team_update_with_an_invalid_value_raises_a_validation_error(admin_user, team):
    with pytest.raises(ValidationError) as refused:
        team_update(by=admin_user, team=team, slug="not a slug")

    assert "slug" in refused.value.message_dict
    assert Team.objects.get(pk=team.pk).slug == team.slug
