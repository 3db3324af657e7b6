"""Reads of the audit trail: who may read it, and what they see."""

from __future__ import annotations

from django.db.models import QuerySet

from core.roles import Role, has_role

from ..models import AuditEvent

AUDIT_READERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)


def audit_events_for_user(*, user) -> QuerySet[AuditEvent]:
    """Risk officers and admins read the whole trail; nobody else reads any of it."""
    if has_role(user, *AUDIT_READERS):
        return AuditEvent.objects.all()
    return AuditEvent.objects.none()
