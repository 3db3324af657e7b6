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


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_UNINSTALL
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_UNINSTALL
    raise NotImplementedError(f"No append-only triggers for database vendor {vendor!r}")


def install(connection) -> None:
    with connection.cursor() as cur:
        for sql in _statements(connection.vendor, install=True):
            cur.execute(sql)


def uninstall(connection) -> None:
    with connection.cursor() as cur:
        for sql in _statements(connection.vendor, install=False):
            cur.execute(sql)
