from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from .errors import DomainError
from .models import ApiToken, ExternalIdentity, Heartbeat
from .services import api_token_revoke, api_token_scope, namespace_patterns


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write (the audit trail, what a registry sync saw): looked at in the admin,
    never added, changed or deleted by hand, so every change keeps going through an audited service."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ApiTokenForm(forms.ModelForm):
    """The one thing an admin edits on a token: the OpenLineage namespaces it may post lineage to."""

    namespaces = forms.CharField(
        label="Lineage namespaces",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "One OpenLineage namespace per line: exact (s3://lake) or a prefix ending in * "
            "(postgres://crm:5432*). The token may post run and job events whose job namespace, and every "
            "output dataset's namespace, match; inputs may come from anywhere. Empty: none "
            "(unless KEEL_LINEAGE_DEFAULT_NAMESPACES gives a default)."
        ),
    )

    class Meta:
        model = ApiToken
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["namespaces"].initial = "\n".join(self.instance.lineage_namespaces or [])

    def clean_namespaces(self):
        try:
            return namespace_patterns(self.cleaned_data["namespaces"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_token` (the key is shown once); here they are revoked
    and their lineage namespaces set (through core.services, so the change is audited)."""

    form = ApiTokenForm
    list_display = [
        "prefix", "user", "name", "lineage_namespaces", "created_at", "expires_at", "revoked_at", "last_used_at",
    ]  # fmt: skip
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "lineage_namespaces"]
    fields = [*readonly_fields, "namespaces"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        try:
            api_token_scope(token=obj, lineage_namespaces=form.cleaned_data["namespaces"], by=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

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


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(ReadOnlyAdmin):
    """Written by single sign-on (core/oidc.py) at a user's first sign-in; shown, never edited by hand."""

    list_display = ["user", "issuer", "subject", "created_at"]
    search_fields = ["user__username", "subject"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "at", "detail"]
    readonly_fields = ["name", "at", "detail"]

    def has_add_permission(self, request):
        return False


class AuditedPeriodicTaskAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin, with its bulk enable/disable/toggle actions saving row by row.

    The originals use queryset.update(), which sends no signal, so an enabled or disabled task would
    leave no audit event; a save goes through core.schedule_audit like any form edit."""

    def _set_enabled(self, request, queryset, enabled, verb: str) -> None:
        changed = 0
        with transaction.atomic():
            # of=self: the admin's queryset joins the (nullable) schedules, which PostgreSQL will not lock.
            for task in queryset.select_for_update(of=("self",)).order_by("pk"):
                new = enabled(task)
                if task.enabled == new:
                    continue
                task.enabled = new
                if not new:
                    task.last_run_at = None  # as the original disable action does
                task.save()
                changed += 1
        PeriodicTasks.update_changed()
        self.message_user(request, f"{changed} task{'s' if changed != 1 else ''} {verb}.")

    @admin.action(description="Enable selected tasks")
    def enable_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: True, "enabled")

    @admin.action(description="Disable selected tasks")
    def disable_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: False, "disabled")

    @admin.action(description="Toggle activity of selected tasks")
    def toggle_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: not task.enabled, "toggled")


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, AuditedPeriodicTaskAdmin)
