from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditVerification, Delivery, NotificationChannel
from .notifications import services as notification_services


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


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    """Chat and automation channels. Saves and deletions go through notifications.services (audited)."""

    list_display = ["name", "kind", "url", "enabled"]
    list_filter = ["kind", "enabled"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in notification_services.CHANNEL_FIELDS if f in form.cleaned_data}
        current = NotificationChannel.objects.get(pk=obj.pk) if change else None
        form.instance = notification_services.channel_save(by=request.user, channel=current, **data)
        obj.pk = form.instance.pk

    def delete_model(self, request, obj):
        notification_services.channel_delete(by=request.user, channel=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would not be audited
        return actions


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every message to an e-mail address or a channel, and how its attempts went."""

    list_display = ["created_at", "kind", "subject", "email", "channel", "status", "attempts", "last_status_code"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["subject", "email", "last_error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
