from django.contrib import admin, messages

from .errors import DomainError
from .models import ApiToken, Heartbeat
from .services import api_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write (the audit trail, what a registry sync saw): looked at in the admin,
    never added, changed or deleted by hand, so every change keeps going through an audited service."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_token` (the key is shown once); here they are revoked."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = [f.name for f in ApiToken._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the audit trail keeps pointing at a real row

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            try:
                api_token_revoke(token=token, by=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "at", "detail"]
    readonly_fields = ["name", "at", "detail"]

    def has_add_permission(self, request):
        return False
