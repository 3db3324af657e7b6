from django.contrib import admin

from .models import AuditChainHead, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by services only."""

    list_display = ["seq", "occurred_at", "actor_repr", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_repr", "action", "request_id", "task_id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(AuditEventAdmin):
    list_display = ["seq", "hash"]
    list_filter = []
    search_fields = []
    readonly_fields = ["seq", "hash", "mac"]
