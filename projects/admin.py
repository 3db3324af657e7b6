"""Admin for teams and projects. Saves go through the services, so admin edits are audited too."""

from django.contrib import admin

from . import services
from .models import AIProject, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "lead"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("name", "slug", "description", "lead") if f in form.cleaned_data}
        if change:
            form.instance = services.team_update(by=request.user, team=obj, **data)
        else:
            form.instance = services.team_create(by=request.user, **data)

    def save_related(self, request, form, formsets, change):
        # Members are set through the service so the change is audited.
        services.team_update(by=request.user, team=form.instance, members=list(form.cleaned_data["members"]))

    def has_delete_permission(self, request, obj=None):
        return False  # teams own projects and history; rename or empty them instead


@admin.register(AIProject)
class AIProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "stage", "health", "owner", "updated_at"]
    list_filter = ["stage", "health", "team"]
    search_fields = ["name", "slug", "purpose"]
    list_select_related = ["team", "owner"]
    readonly_fields = ["stage", "stage_changed_at", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        data = {f: v for f, v in form.cleaned_data.items() if f in services.PROJECT_EDITABLE}
        if change:
            services.project_update(by=request.user, project=AIProject.objects.get(pk=obj.pk), **data)
        else:
            form.instance = services.project_create(by=request.user, slug=form.cleaned_data.get("slug", ""), **data)
            obj.pk = form.instance.pk

    def has_delete_permission(self, request, obj=None):
        return False  # retire a project instead: its audit trail and sign-offs must stay attached
