"""The sign-off policies page: the policy in force for each tier and what it requires, every version
published before it, and (risk officers, admins) the form that publishes the next version.

Thin: signoff_policy_publish validates, refuses who may not publish, and audits; a refused form
changes nothing and is shown again with the service's reasons."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import ALL_ROLES, has_role
from projects.models import RiskTier

from ..signoff import services, thresholds
from ..signoff.filters import SignOffPolicyFilterSet
from ..signoff.forms import SignOffPolicyForm
from ..signoff.permissions import POLICY_PUBLISHERS
from ..signoff.selectors import policies_current, policy_history

HISTORY_PAGE = 25


class SignOffPolicyListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Everyone who signs in may read the policies (the rules their sign-offs follow); the history exports
    as CSV or XLSX with its tier filter."""

    allowed_roles = ALL_ROLES
    template_name = "governance/signoff_policies.html"
    filterset_class = SignOffPolicyFilterSet
    paginate_by = HISTORY_PAGE
    context_object_name = "history"
    export_stem = "signoff-policies"
    export_title = "Sign-off policies"
    export_header = (
        "tier", "version", "approvable", "required_roles", "min_approvers", "recertify_days", "published_at",
        "published_by", "note",
    )  # fmt: skip

    def get_queryset(self):
        return policy_history()

    def export_rows(self, qs):
        for p in qs.iterator(chunk_size=500):
            yield (
                p.tier, p.version, p.approvable, ", ".join(p.required_roles), p.min_approvers,
                p.recertify_days or "", p.created_at, p.created_by.username if p.created_by else "", p.note,
            )  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        data = self.filterset.form.cleaned_data if self.filterset.is_bound and self.filterset.is_valid() else {}
        tier = data.get("tier") or ""
        return {
            **ctx,
            "policies": policies_current(),
            "tier": tier,
            "tier_label": RiskTier(tier).label if tier else "",
            "tiers": RiskTier.choices,
            "can_publish": has_role(self.request.user, *POLICY_PUBLISHERS),
        }


class SignOffPolicyPublishView(RoleRequiredMixin, TemplateView):
    """GET: the form, filled with the tier's policy in force (?tier=); POST: publish the next version."""

    allowed_roles = POLICY_PUBLISHERS
    template_name = "governance/signoff_policy_form.html"

    def get(self, request, *args, **kwargs):
        tier = request.GET.get("tier", "")
        current = services.current_policy(tier) if tier in RiskTier.values else None
        initial = {"tier": tier} if tier in RiskTier.values else {}
        if current is not None:
            initial.update(
                required_roles=list(current.required_roles), min_approvers=current.min_approvers,
                recertify_days=current.recertify_days, approvable=current.approvable,
                metric_requirements=thresholds.requirements_text(current.metric_requirements.all()),
            )  # fmt: skip
        return self.render_to_response(self.get_context_data(form=SignOffPolicyForm(initial=initial), current=current))

    def post(self, request, *args, **kwargs):
        form = SignOffPolicyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                policy = services.signoff_policy_publish(
                    by=request.user, tier=data["tier"], required_roles=list(data["required_roles"]),
                    min_approvers=data["min_approvers"], recertify_days=data["recertify_days"],
                    approvable=data["approvable"], note=data["note"].strip(),
                    metric_requirements=thresholds.requirements_parse(data["metric_requirements"]),
                )  # fmt: skip
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"Published {policy}. New sign-off requests of the {policy.tier} tier follow it."
                )
                return redirect(f"{reverse('governance:signoff-policies')}#policy-{policy.tier}")
        tier = form.data.get("tier", "")
        current = services.current_policy(tier) if tier in RiskTier.values else None
        # Shown again with the reasons (status 200, as the other refused forms); nothing was published.
        return self.render_to_response(self.get_context_data(form=form, current=current))
