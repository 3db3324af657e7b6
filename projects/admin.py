"""Admin for teams, projects, registries and the ROI ledger. Saves go through the services (audited)."""

from django import forms
from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin
from core.errors import DomainError

from .inventory import services as inventory_services
from .models import (
    REGISTRY_USER_MAPPED_TWICE,
    AIProject,
    DeploymentObservation,
    FxRate,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryAuthor,
    ROIEntry,
    SyncRun,
    Team,
)
from .registries import services as registry_services
from .registries.forms import RegistryAdminForm
from .roi import services as roi_services
from .roi.services import FX_FOR_REPORTING


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "lead"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("name", "slug", "description", "lead") if f in form.cleaned_data}
        if change:
            form.instance = inventory_services.team_update(by=request.user, team=obj, **data)
        else:
            form.instance = inventory_services.team_create(by=request.user, **data)

    def save_related(self, request, form, formsets, change):
        # Members are set through the service so the change is audited.
        inventory_services.team_update(by=request.user, team=form.instance, members=list(form.cleaned_data["members"]))

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
        data = {f: v for f, v in form.cleaned_data.items() if f in inventory_services.PROJECT_EDITABLE}
        if change:
            inventory_services.project_update(by=request.user, project=AIProject.objects.get(pk=obj.pk), **data)
        else:
            form.instance = inventory_services.project_create(
                by=request.user, slug=form.cleaned_data.get("slug", ""), **data
            )
            obj.pk = form.instance.pk

    def has_delete_permission(self, request, obj=None):
        return False  # retire a project instead: its audit trail and sign-offs must stay attached


class RegistryAuthorFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """One registry user, one row (in any case): the inline's forms do not check the registry-wide
        constraint themselves (the registry is not one of their fields), so a duplicate would reach the save."""
        super().clean()
        seen = set()
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or self._should_delete_form(form):
                continue
            name = (form.cleaned_data.get("registry_user") or "").strip()
            if name.casefold() in seen:
                raise forms.ValidationError(REGISTRY_USER_MAPPED_TWICE.format(name=name))
            seen.add(name.casefold())


class RegistryAuthorInline(admin.TabularInline):
    """The registry's author mapping: registry users who are Keel users under another name or e-mail."""

    model = RegistryAuthor
    formset = RegistryAuthorFormSet
    fields = ["registry_user", "user"]
    extra = 1
    verbose_name = "author mapping"
    verbose_name_plural = "author mapping (registry user → Keel user, for separation of duties)"


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    """Registry connections. Saves go through registry_create/registry_update (audited); a registry that
    brought in models cannot be deleted, only disabled. Its author mapping is saved through
    registry_author_map/update/unmap (audited)."""

    form = RegistryAdminForm
    inlines = [RegistryAuthorInline]
    list_display = ["name", "kind", "base_url", "enabled", "sync_interval_seconds", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["sync_now"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in registry_services.REGISTRY_FIELDS if f in form.cleaned_data}
        if change:
            form.instance = registry_services.registry_update(
                by=request.user, registry=Registry.objects.get(pk=obj.pk), **data
            )
        else:
            form.instance = registry_services.registry_create(by=request.user, **data)
            obj.pk = form.instance.pk

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # sets the forms' values on their rows, saves nothing
        for mapping in formset.deleted_objects:
            registry_services.registry_author_unmap(by=request.user, mapping=mapping)
        for mapping, _ in formset.changed_objects:
            registry_services.registry_author_update(
                by=request.user, mapping=mapping, registry_user=mapping.registry_user, user=mapping.user
            )
        for mapping in formset.new_objects:
            registry_services.registry_author_map(
                by=request.user, registry=form.instance, registry_user=mapping.registry_user, user=mapping.user
            )

    def has_delete_permission(self, request, obj=None):
        # Only a registry that never brought in a model may go (registry_delete refuses the others).
        return super().has_delete_permission(request, obj) and (obj is None or not obj.models.exists())

    def delete_model(self, request, obj):
        registry_services.registry_delete(by=request.user, registry=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would bypass registry_delete's refusal
        return actions

    @admin.action(description="Sync the selected registries now")
    def sync_now(self, request, queryset):
        for registry in queryset:
            try:
                registry_services.registry_sync_request(by=request.user, registry=registry)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Sync of {registry.name} queued.")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["registry", "started_at", "finished_at", "status", "created", "updated", "deleted", "unchanged"]
    list_filter = ["status", "registry"]
    list_select_related = ["registry"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    """Read-only except the project link, which goes through registered_model_link (audited)."""

    list_display = ["name", "registry", "project", "link_source", "deleted_at"]
    list_filter = ["registry", "link_source"]
    search_fields = ["name", "project__name", "project__slug"]
    list_select_related = ["registry", "project"]
    fields = ["registry", "name", "description", "tags", "project", "link_source", "registry_created_at",
              "registry_updated_at", "first_seen_at", "deleted_at"]  # fmt: skip
    readonly_fields = [f for f in fields if f != "project"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a sync marks a vanished model deleted; the row keeps its history

    def save_model(self, request, obj, form, change):
        original = RegisteredModel.objects.get(pk=obj.pk)
        form.instance = registry_services.registered_model_link(
            by=request.user, model=original, project=form.cleaned_data["project"]
        )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "stage", "approval", "registry_created_at", "deleted_at"]
    list_filter = ["registered_model__registry", "status", "deleted_at"]
    search_fields = ["registered_model__name", "version", "run_id"]
    list_select_related = ["registered_model"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]


@admin.register(DeploymentObservation)
class DeploymentObservationAdmin(ReadOnlyAdmin):
    list_display = ["version", "signal", "name", "observed_from", "observed_until"]
    list_filter = ["signal", "registered_model__registry"]
    search_fields = ["registered_model__name", "name"]
    list_select_related = ["version__registered_model"]
    readonly_fields = [f.name for f in DeploymentObservation._meta.fields]


class FxRateAdminForm(forms.ModelForm):
    """Says what fx_rate_set would refuse next to the field, before saving."""

    class Meta:
        model = FxRate
        fields = ["currency", "month", "rate"]

    def clean_currency(self):
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency == roi_services.reporting_currency():
            raise forms.ValidationError(FX_FOR_REPORTING.format(currency=currency))
        return currency


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    """FX rates into the reporting currency. Saves go through fx_rate_set, which audits the change and
    re-converts every ROI entry of that currency and month; a rate in use cannot be deleted."""

    form = FxRateAdminForm
    list_display = ["currency", "month", "rate", "updated_at", "updated_by"]
    list_filter = ["currency"]
    date_hierarchy = "month"
    list_select_related = ["updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def get_readonly_fields(self, request, obj=None):
        # A rate's key is fixed once saved: set a rate for another month or currency instead.
        return [*self.readonly_fields, "currency", "month"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        form.instance = roi_services.fx_rate_set(by=request.user, currency=obj.currency, month=obj.month, rate=obj.rate)
        obj.pk = form.instance.pk

    def delete_model(self, request, obj):
        try:
            roi_services.fx_rate_delete(by=request.user, fx=obj)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or not ROIEntry.objects.filter(currency=obj.currency, month=obj.month).exists()
        )


@admin.register(ROIEntry)
class ROIEntryAdmin(ReadOnlyAdmin):
    """Read-only: entries are logged on the project's ROI tab, by upload or through the API (audited)."""

    list_display = ["project", "month", "basis", "kind", "category", "amount", "currency", "amount_reporting",
                    "logged_by", "updated_at"]  # fmt: skip
    list_filter = ["basis", "kind", "category", "currency"]
    search_fields = ["project__name", "project__slug", "note"]
    date_hierarchy = "month"
    list_select_related = ["project", "logged_by"]
