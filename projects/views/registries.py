"""Pages about registries: the connections with their health, "sync now", linking a model to a project."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import Role, is_admin

from ..registries import services
from ..registries.filters import RegistryFilterSet
from ..registries.forms import ModelLinkForm
from ..registries.selectors import registries_for_user, registry_is_stale
from .mixins import ALL_ROLES, ProjectWriteMixin, run_and_tell


class ProjectModelLinkView(ProjectWriteMixin, FormView):
    """Link a registry model to the project by hand (team lead of its team, or admin)."""

    refusal = "You can only link models to projects of your own team."
    template_name = "projects/model_link.html"
    form_class = ModelLinkForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        model = form.cleaned_data["model"]
        try:
            services.registered_model_link(by=self.request.user, model=model, project=self.project)
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Model “{model.name}” linked to this project.")
        return redirect(reverse("projects:detail", kwargs={"slug": self.project.slug}) + "#models")


class RegistryListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Every registry with its health: is Keel's copy of it current, and if not, why."""

    allowed_roles = ALL_ROLES
    template_name = "projects/registry_list.html"
    filterset_class = RegistryFilterSet
    paginate_by = 50
    context_object_name = "registries"

    def get_queryset(self):
        return registries_for_user(user=self.request.user)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        now = timezone.now()
        for registry in ctx["registries"]:
            registry.stale = registry_is_stale(registry, now=now)
        ctx["can_sync"] = is_admin(self.request.user)
        return ctx


class RegistrySyncView(RoleRequiredMixin, View):
    """The admin's "Sync now" button: queue a sync and come back to the list."""

    allowed_roles = (Role.ADMIN,)
    http_method_names = ["post"]

    def post(self, request, pk: int):
        registry = get_object_or_404(registries_for_user(user=request.user), pk=pk)
        run_and_tell(
            request,
            lambda: services.registry_sync_request(by=request.user, registry=registry),
            success=f"Sync of “{registry.name}” queued; its health updates when the worker is done.",
        )
        return redirect("projects:registries")
