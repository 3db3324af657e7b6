from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditVerification


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail is written by services only."""

    list_display = ["seq", "occurred_at", "actor_repr", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_repr", "action", "request_id", "task_id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    """Read-only: runs are recorded by verify_audit and the worker (the audit page starts one)."""

    list_display = ["id", "source", "requested_at", "finished_at", "ok", "events_verified", "first_bad_seq"]
    list_filter = ["source", "ok"]
    readonly_fields = [f.name for f in AuditVerification._meta.fields]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    """Read-only: checkpoints are signed by the worker and by export_audit."""

    list_display = ["seq", "signed_at", "key_id", "hash"]
    readonly_fields = [f.name for f in AuditCheckpoint._meta.fields]


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(AuditEventAdmin):
    list_display = ["seq", "hash"]
    list_filter = []
    search_fields = []
    readonly_fields = ["seq", "hash", "mac"]
