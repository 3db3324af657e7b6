"""Database triggers that refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on the audit table.

Installed by migration 0002. The application never updates or deletes audit rows; these triggers
make the database itself refuse it, whoever asks. (A database owner can still drop a trigger:
that is what verify_audit and the signed chain head are for.)
"""

from __future__ import annotations

TABLE = "governance_auditevent"
APPEND_ONLY_MESSAGE = "governance_auditevent is append-only"

_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION keel_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"DROP TRIGGER IF EXISTS keel_audit_no_update ON {TABLE}",
    f"""CREATE TRIGGER keel_audit_no_update BEFORE UPDATE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION keel_audit_refuse_change()""",
    f"DROP TRIGGER IF EXISTS keel_audit_no_delete ON {TABLE}",
    f"""CREATE TRIGGER keel_audit_no_delete BEFORE DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION keel_audit_refuse_change()""",
    # TRUNCATE skips row triggers; it needs a statement trigger of its own.
    f"DROP TRIGGER IF EXISTS keel_audit_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER keel_audit_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION keel_audit_refuse_change()""",
]
_POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS keel_audit_no_update ON {TABLE}",
    f"DROP TRIGGER IF EXISTS keel_audit_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS keel_audit_no_truncate ON {TABLE}",
]
_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS keel_audit_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS keel_audit_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE refused'); END""",
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS keel_audit_no_update",
    "DROP TRIGGER IF EXISTS keel_audit_no_delete",
]


def _execute(connection, triggers: dict[str, tuple[list[str], list[str]]], *, install: bool, what: str) -> None:
    """Run one set of trigger statements, (install, uninstall) per database vendor, on this connection;
    a vendor with no triggers written for it is refused rather than left unprotected in silence."""
    try:
        install_sql, uninstall_sql = triggers[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"No {what} for database vendor {connection.vendor!r}") from None
    with connection.cursor() as cur:
        for sql in install_sql if install else uninstall_sql:
            cur.execute(sql)


_AUDIT_TRIGGERS = {
    "postgresql": (_POSTGRES_INSTALL, _POSTGRES_UNINSTALL),
    "sqlite": (_SQLITE_INSTALL, _SQLITE_UNINSTALL),
}


def install(connection) -> None:
    _execute(connection, _AUDIT_TRIGGERS, install=True, what="append-only triggers")


def uninstall(connection) -> None:
    _execute(connection, _AUDIT_TRIGGERS, install=False, what="append-only triggers")


# --- sign-off decisions ------------------------------------------------------------------------
# A decision row carries copies of its request's requester and version author, so that check
# constraints can refuse self-approval; these triggers make sure the copies are true, and that a
# request which is no longer pending takes no decision, whoever writes (the service checks first).
# Decisions are never edited: a reviewer who changes their mind records a new decision.

DECISIONS = "governance_signoffdecision"
REQUESTS = "governance_signoffrequest"
SOD_MESSAGE = "separation of duties: a sign-off decision must name the requester and author of its request"
CLOSED_MESSAGE = "a sign-off request that is no longer pending takes no decision"
DECISION_FINAL_MESSAGE = "a sign-off decision is final; record a new one instead"

_SIGNOFF_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION keel_signoff_decision_check() RETURNS trigger AS $$
    DECLARE req RECORD;
    BEGIN
        SELECT requested_by_id, version_author_id, status INTO req FROM {REQUESTS} WHERE id = NEW.request_id;
        IF NEW.requested_by_id IS DISTINCT FROM req.requested_by_id
           OR NEW.version_author_id IS DISTINCT FROM req.version_author_id THEN
            RAISE EXCEPTION '{SOD_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF req.status <> 'pending' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION keel_signoff_decision_final() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{DECISION_FINAL_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"DROP TRIGGER IF EXISTS keel_signoff_decision_check ON {DECISIONS}",
    f"""CREATE TRIGGER keel_signoff_decision_check BEFORE INSERT ON {DECISIONS}
        FOR EACH ROW EXECUTE FUNCTION keel_signoff_decision_check()""",
    f"DROP TRIGGER IF EXISTS keel_signoff_decision_final ON {DECISIONS}",
    f"""CREATE TRIGGER keel_signoff_decision_final BEFORE UPDATE ON {DECISIONS}
        FOR EACH ROW EXECUTE FUNCTION keel_signoff_decision_final()""",
]
_SIGNOFF_POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS keel_signoff_decision_check ON {DECISIONS}",
    f"DROP TRIGGER IF EXISTS keel_signoff_decision_final ON {DECISIONS}",
    "DROP FUNCTION IF EXISTS keel_signoff_decision_check()",
    "DROP FUNCTION IF EXISTS keel_signoff_decision_final()",
]
_SIGNOFF_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS keel_signoff_decision_copies BEFORE INSERT ON {DECISIONS}
        WHEN NEW.requested_by_id IS NOT (SELECT requested_by_id FROM {REQUESTS} WHERE id = NEW.request_id)
          OR NEW.version_author_id IS NOT (SELECT version_author_id FROM {REQUESTS} WHERE id = NEW.request_id)
        BEGIN SELECT RAISE(ABORT, '{SOD_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS keel_signoff_decision_pending BEFORE INSERT ON {DECISIONS}
        WHEN (SELECT status FROM {REQUESTS} WHERE id = NEW.request_id) IS NOT 'pending'
        BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS keel_signoff_decision_final BEFORE UPDATE ON {DECISIONS}
        BEGIN SELECT RAISE(ABORT, '{DECISION_FINAL_MESSAGE}'); END""",
]
_SIGNOFF_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS keel_signoff_decision_copies",
    "DROP TRIGGER IF EXISTS keel_signoff_decision_pending",
    "DROP TRIGGER IF EXISTS keel_signoff_decision_final",
]


_SIGNOFF_TRIGGERS = {
    "postgresql": (_SIGNOFF_POSTGRES_INSTALL, _SIGNOFF_POSTGRES_UNINSTALL),
    "sqlite": (_SIGNOFF_SQLITE_INSTALL, _SIGNOFF_SQLITE_UNINSTALL),
}


def install_signoff(connection) -> None:
    _execute(connection, _SIGNOFF_TRIGGERS, install=True, what="sign-off triggers")


def uninstall_signoff(connection) -> None:
    _execute(connection, _SIGNOFF_TRIGGERS, install=False, what="sign-off triggers")
