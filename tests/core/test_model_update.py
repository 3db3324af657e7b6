"""The one audited-update helper: validates, writes only what changed, audits once, writes nothing for no change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.services import NOT_EDITABLE, model_create, model_delete, model_update
from governance.models import AuditEvent
from projects.models import Team
from tests.factories import TeamFactory, make_user


@pytest.fixture
def team(db):
    return TeamFactory(name="Claims")


def test_a_change_is_saved_and_audited_with_only_what_changed(team):
    member = make_user("m1")
    before_updated = team.updated_at if hasattr(team, "updated_at") else None
    events = AuditEvent.objects.count()

    _, changed = model_update(
        instance=team, fields=("name", "members"), data={"name": "Claims EU", "members": [member]},
        by=None, action="team.updated",
    )  # fmt: skip

    assert changed is True
    team.refresh_from_db()
    assert (team.name, list(team.members.values_list("pk", flat=True))) == ("Claims EU", [member.pk])
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.before, event.after) == (
        "team.updated", {"name": "Claims", "members": []}, {"name": "Claims EU", "members": [member.pk]},
    )  # fmt: skip
    assert before_updated is None or team.updated_at >= before_updated


def test_no_change_writes_nothing_and_audits_nothing(team):
    events = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        _, changed = model_update(instance=team, fields=("name",), data={"name": "Claims"}, by=None, action="x")
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert (changed, writes, AuditEvent.objects.count()) == (False, [], events)


def test_a_field_that_may_not_change_is_refused_before_anything_is_set(team):
    with pytest.raises(ValidationError) as caught:
        model_update(instance=team, fields=("name",), data={"name": "New", "slug": "x"}, by=None, action="x")
    assert caught.value.message_dict == {"slug": [NOT_EDITABLE]}
    assert team.name == "Claims"
    assert Team.objects.get(pk=team.pk).name == "Claims"


def test_an_invalid_value_is_refused_and_nothing_is_written(team):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        model_update(instance=team, fields=("name",), data={"name": ""}, by=None, action="x")
    assert "name" in caught.value.message_dict
    assert (Team.objects.get(pk=team.pk).name, AuditEvent.objects.count()) == ("Claims", events)


def test_model_create_validates_saves_and_audits_the_extra_facts_then_the_fields(db):
    lead = make_user("lead1")
    events = AuditEvent.objects.count()
    team = model_create(
        instance=Team(name="Pricing", slug="pricing", lead=lead),
        by=None, action="team.created", fields=("name", "slug"), extra={"why": "test"},
    )  # fmt: skip
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.object_id, event.after) == (
        "team.created", str(team.pk), {"why": "test", "name": "Pricing", "slug": "pricing"},
    )  # fmt: skip


def test_model_create_refuses_an_invalid_row_and_writes_nothing(db):
    events, teams = AuditEvent.objects.count(), Team.objects.count()
    with pytest.raises(ValidationError) as caught:
        model_create(instance=Team(name="", slug="x"), by=None, action="team.created", fields=("name",))
    assert "name" in caught.value.message_dict
    assert (AuditEvent.objects.count(), Team.objects.count()) == (events, teams)


def test_model_delete_records_the_row_as_it_was_under_its_old_id(team):
    pk = team.pk
    model_delete(instance=team, fields=("name", "slug"), by=None, action="team.deleted")
    event = AuditEvent.objects.order_by("-seq").first()
    assert not Team.objects.filter(pk=pk).exists()
    assert (event.action, event.object_type, event.object_id, event.before, event.after) == (
        "team.deleted", "projects.team", str(pk), {"name": "Claims", "slug": team.slug}, None,
    )  # fmt: skip
