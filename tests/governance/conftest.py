"""Audit-trail fixtures: a small real chain written by the services, and raw-SQL tools for tampering."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from governance.audit import triggers as db_triggers
from governance.audit.chain import compute_hash, event_fields
from governance.models import AuditEvent
from projects.inventory import services
from projects.models import Stage
from tests.factories import make_user

TABLE = AuditEvent._meta.db_table
COLUMNS = [f.column for f in AuditEvent._meta.concrete_fields]


def chain() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("seq"))


def seqs() -> list[int]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def db_value(field_name: str, value):
    """A Python value as the database column takes it (JSON, datetimes), for raw SQL parameters."""
    return AuditEvent._meta.get_field(field_name).get_db_prep_save(value, connection)


def raw_update(where_seq: int, /, **columns) -> None:
    assignments = ", ".join(f"{name} = %s" for name in columns)
    params = [db_value(name, value) for name, value in columns.items()]
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {TABLE} SET {assignments} WHERE seq = %s", [*params, where_seq])  # noqa: S608


def raw_delete(seq: int) -> None:
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [seq])  # noqa: S608


def raw_insert(event: AuditEvent) -> None:
    fields = AuditEvent._meta.concrete_fields
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})", params)  # noqa: S608


def forged_event(*, seq: int, prev_hash: str, action: str = "project.updated", recompute: bool = True) -> AuditEvent:
    """A plausible event; with recompute=True its hash is correct for its place in the chain."""
    event = AuditEvent(
        seq=seq,
        occurred_at=timezone.now().astimezone(dt.UTC),
        actor_id=None,
        actor_repr="system",
        action=action,
        object_type="projects.aiproject",
        object_id="999",
        before={"health": "on_track"},
        after={"health": "off_track"},
        request_id="",
        task_id="",
        hash_alg=1,
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(prev_hash, event_fields(event)) if recompute else "f" * 64
    return event


@pytest.fixture
def five_events(db):
    """Five events, one per kind of service write, in this order:
    1 team.created, 2 project.created, 3 project.updated, 4 project.stage_changed, 5 team.updated.

    Written by the system (by=None) with a role-less owner, so it also works in transactional tests,
    whose flush removes the role groups that migrations created."""
    owner = make_user("owner")
    team = services.team_create(by=None, name="Claims", lead=owner)
    project = services.project_create(by=None, name="Fraud scoring", purpose="Flags claims.", team=team, owner=owner)
    services.project_update(by=None, project=project, horizon_months=24)
    services.project_change_stage(by=None, project=project, stage=Stage.DESIGN, reason="kick-off")
    services.team_update(by=None, team=team, description="Claims handling")
    events = chain()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    return events


@pytest.fixture
def triggers_lifted(db):
    """Drop the append-only triggers, as a database owner could; put them back afterwards."""
    db_triggers.uninstall(connection)
    try:
        yield
    finally:
        db_triggers.install(connection)
