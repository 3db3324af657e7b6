"""The audit trail: one event per service write, in the write's transaction; a linked, verifiable chain;
append-only at the model layer and in the database itself (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from core import audit as audit_port
from core import services as core_services
from core.errors import PermissionDeniedError, TransitionError
from governance.audit.chain import append_event, compute_hash, event_fields, verify_chain
from governance.audit.triggers import APPEND_ONLY_MESSAGE
from governance.models import GENESIS_HASH, AuditChainHead, AuditEvent
from projects.inventory import services
from projects.models import AIProject, Stage, Team

from .conftest import TABLE, chain, seqs


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


# --- one event per write -------------------------------------------------------------------------------


def test_team_create_appends_exactly_one_event_naming_the_actor_and_the_team(admin_user):
    team = services.team_create(by=admin_user, name="Claims", description="Claims handling")
    assert AuditEvent.objects.count() == 1
    event = last_event()
    assert (event.seq, event.action, event.object_type, event.object_id) == (
        1,
        "team.created",
        "projects.team",
        str(team.pk),
    )
    assert (event.actor_id, event.actor_repr) == (admin_user.pk, "admin")
    assert event.before is None
    assert event.after == {
        "name": "Claims",
        "slug": "claims",
        "description": "Claims handling",
        "lead": None,
        "members": [],
    }


def test_team_update_appends_one_event_with_only_the_changed_fields(admin_user, team):
    before = AuditEvent.objects.count()
    services.team_update(by=admin_user, team=team, description="Claims and recoveries")
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.action == "team.updated"
    assert event.before == {"description": ""}
    assert event.after == {"description": "Claims and recoveries"}


def test_project_create_appends_one_event_with_the_full_snapshot(team_lead, team):
    before = AuditEvent.objects.count()
    project = services.project_create(
        by=team_lead, name="Fraud scoring", purpose="Flags claims.", team=team, owner=team_lead
    )
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert (event.action, event.object_type, event.object_id) == (
        "project.created",
        "projects.aiproject",
        str(project.pk),
    )
    assert event.actor_repr == "lead"
    assert event.after["slug"] == "fraud-scoring"
    assert event.after["team"] == team.pk
    # Money is a decimal string at the stored precision, never a float.
    assert event.after["expected_investment"] == "0.00"


def test_project_update_appends_one_event_with_before_and_after_of_the_changed_fields(team_lead, project):
    before = AuditEvent.objects.count()
    services.project_update(by=team_lead, project=project, expected_investment=Decimal("120000.50"))
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.action == "project.updated"
    assert event.before == {"expected_investment": "100000.00"}
    assert event.after == {"expected_investment": "120000.50"}


def test_project_update_that_changes_nothing_writes_no_event(team_lead, project):
    before = AuditEvent.objects.count()
    services.project_update(by=team_lead, project=project, horizon_months=project.horizon_months)
    assert AuditEvent.objects.count() == before


def test_the_same_amount_written_with_another_precision_is_no_change(team_lead, project):
    before = AuditEvent.objects.count()
    services.project_update(by=team_lead, project=project, expected_investment=Decimal("100000"))
    assert AuditEvent.objects.count() == before


def test_project_change_stage_appends_one_event_with_the_reason(team_lead, project):
    before = AuditEvent.objects.count()
    services.project_change_stage(by=team_lead, project=project, stage=Stage.DESIGN, reason="scoped")
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.action == "project.stage_changed"
    assert event.before == {"stage": "idea"}
    assert event.after == {"stage": "design", "reason": "scoped"}


def test_api_token_create_and_revoke_each_append_one_event_without_the_key(team_lead, admin_user):
    before = AuditEvent.objects.count()
    token, key = core_services.api_token_create(user=team_lead, name="ci", by=admin_user)
    assert AuditEvent.objects.count() == before + 1
    created = last_event()
    assert (created.action, created.object_type, created.object_id) == (
        "api_token.created",
        "core.apitoken",
        str(token.pk),
    )
    core_services.api_token_revoke(token=token, by=admin_user)
    assert AuditEvent.objects.count() == before + 2
    assert last_event().action == "api_token.revoked"
    secret = key.split("_", 2)[2]
    for event in AuditEvent.objects.all():
        assert secret not in f"{event.before} {event.after}"


def test_a_write_through_the_api_records_the_request_id(client, team_lead, team):
    client.force_login(team_lead)
    response = client.post(
        "/api/v1/projects/",
        {"name": "Triage bot", "purpose": "Routes claims.", "team": team.slug, "owner": "lead"},
        content_type="application/json",
        headers={"X-Request-ID": "req-0123456789"},
    )
    assert response.status_code == 201, response.content
    event = last_event()
    assert event.action == "project.created"
    assert event.request_id == "req-0123456789"
    assert event.actor_repr == "lead"


# --- a refused or failed write leaves no event --------------------------------------------------------


def test_a_write_refused_by_validation_leaves_no_event_and_no_change(team_lead, project):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.project_update(by=team_lead, project=project, horizon_months=0)
    assert "horizon_months" in exc.value.message_dict
    assert AuditEvent.objects.count() == before
    assert AIProject.objects.get(pk=project.pk).horizon_months == 36


def test_an_illegal_transition_leaves_no_event(team_lead, project):
    before = AuditEvent.objects.count()
    with pytest.raises(TransitionError):
        services.project_change_stage(by=team_lead, project=project, stage=Stage.PRODUCTION)
    assert AuditEvent.objects.count() == before
    assert AIProject.objects.get(pk=project.pk).stage == Stage.IDEA


def test_a_write_refused_by_permission_leaves_no_event(other_lead, project):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDeniedError):
        services.project_update(by=other_lead, project=project, name="Hijacked")
    assert AuditEvent.objects.count() == before


def test_a_failure_after_the_event_is_inserted_rolls_back_both_the_event_and_the_write(monkeypatch, admin_user):
    """The event row is already inserted when the signed head update fails: nothing of the write survives."""
    inserted = []
    original_save = AuditEvent.save

    def save_and_remember(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        inserted.append(self.seq)

    def head_update_fails(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent, "save", save_and_remember)
    monkeypatch.setattr(AuditChainHead.objects, "update_or_create", head_update_fails)
    with pytest.raises(DatabaseError, match="disk full"):
        services.team_create(by=admin_user, name="Claims")
    assert inserted == [1]  # the event was written inside the transaction...
    assert AuditEvent.objects.count() == 0  # ...and rolled back with it
    assert not Team.objects.filter(name="Claims").exists()
    assert not AuditChainHead.objects.exists()


def test_a_failing_audit_writer_refuses_the_business_write(monkeypatch, admin_user):
    def writer_down(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_port, "_writer", writer_down)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        services.team_create(by=admin_user, name="Claims")
    assert not Team.objects.filter(name="Claims").exists()
    assert AuditEvent.objects.count() == 0


def test_an_outer_transaction_rolled_back_after_the_service_takes_its_event_with_it(team_lead, project):
    before = AuditEvent.objects.count()
    seen_inside = []

    @transaction.atomic
    def caller_that_fails_after_the_service_returned():
        services.project_update(by=team_lead, project=project, name="Renamed")
        seen_inside.append(AuditEvent.objects.count())
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        caller_that_fails_after_the_service_returned()
    assert seen_inside == [before + 1]
    assert AuditEvent.objects.count() == before
    assert AIProject.objects.get(pk=project.pk).name == "Fraud scoring"


@pytest.mark.django_db(transaction=True)
def test_appending_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        append_event(actor=None, action="x.y", object_type="t", object_id="1")
    assert AuditEvent.objects.count() == 0


# --- the chain -----------------------------------------------------------------------------------------


def test_seq_runs_from_one_without_gaps(five_events, team_lead):
    assert seqs() == [1, 2, 3, 4, 5]
    team = Team.objects.get()
    for i in range(3):
        services.team_update(by=None, team=team, description=f"revision {i}")
    assert seqs() == list(range(1, 9))


def test_each_event_links_to_the_previous_hash_and_hashes_its_own_content(five_events):
    prev = GENESIS_HASH
    for event in chain():
        assert event.prev_hash == prev
        assert event.hash == compute_hash(prev, event_fields(event))
        assert len(event.hash) == 64
        prev = event.hash
    assert len({e.hash for e in five_events}) == 5


def test_the_signed_head_names_the_newest_event(five_events):
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (5, five_events[-1].hash)
    assert len(head.mac) == 64


def test_verify_chain_is_ok_on_an_intact_chain(five_events):
    result = verify_chain()
    assert result.ok is True
    assert result.checked == 5
    assert result.bad_seq is None


def test_verify_chain_is_ok_on_an_empty_trail(db):
    result = verify_chain()
    assert (result.ok, result.checked) == (True, 0)


def test_verify_chain_reads_in_chunks(five_events):
    assert verify_chain(chunk_size=2).checked == 5


# --- append-only: the model layer ---------------------------------------------------------------------


def test_saving_an_existing_event_raises_type_error(five_events):
    event = AuditEvent.objects.get(seq=3)
    event.action = "project.deleted"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(seq=3).action == "project.updated"


def test_deleting_an_event_raises_type_error(five_events):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.get(seq=3).delete()
    assert seqs() == [1, 2, 3, 4, 5]


def test_queryset_update_raises_type_error(five_events):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(seq=2).update(action="nothing.happened")
    assert AuditEvent.objects.get(seq=2).action == "project.created"


def test_queryset_delete_raises_type_error(five_events):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(seq__gte=4).delete()
    assert AuditEvent.objects.count() == 5


# --- append-only: the database itself -----------------------------------------------------------------


def test_the_database_refuses_a_raw_update_of_an_audit_row(five_events):
    assert connection.vendor in ("sqlite", "postgresql")
    with (
        pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE) as exc,
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(f"UPDATE {TABLE} SET action = %s WHERE seq = %s", ["nothing.happened", 3])  # noqa: S608
    assert "UPDATE refused" in str(exc.value)
    assert AuditEvent.objects.get(seq=3).action == "project.updated"
    assert verify_chain().ok


def test_the_database_refuses_a_raw_delete_of_an_audit_row(five_events):
    with (
        pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE) as exc,
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [5])  # noqa: S608
    assert "DELETE refused" in str(exc.value)
    assert seqs() == [1, 2, 3, 4, 5]


def test_the_database_refuses_a_raw_delete_of_the_whole_table(five_events):
    with pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE}")  # noqa: S608
    assert AuditEvent.objects.count() == 5


def test_the_database_refuses_a_raw_update_of_the_hash_column(five_events):
    with pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"UPDATE {TABLE} SET hash = %s WHERE seq = %s", ["e" * 64, 1])  # noqa: S608
    assert verify_chain().ok


@pytest.mark.postgres_only  # TRUNCATE exists only on PostgreSQL; SQLite's DELETE trigger covers it
def test_postgresql_refuses_truncating_the_audit_table(five_events):
    with pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 5
