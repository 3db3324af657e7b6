"""The EU AI Act questionnaire page of a project: its tier and why, the questions, the history.

Everyone with a role who may see the project reads it; team leads of its team, risk officers and
admins submit it (a new version each time, through tier_assessment_submit).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.generic import FormView

from core import roles
from core.errors import DomainError
from core.forms import apply_service_errors
from core.permissions import RoleRequiredMixin
from core.roles import has_role
from projects.models import RiskTier

from ..risks import assessments
from ..risks.forms import TierQuestionnaireForm
from ..risks.permissions import can_assess_tier
from ..risks.selectors import tier_assessment_history
from .risks import project_in_scope

ALL_ROLES = roles.ALL_ROLES
PREVIEW = "_preview"
NOT_YOUR_TIER = "Only a team lead of this project's team, a risk officer or an admin can assess its tier."


class TierQuestionnaireView(RoleRequiredMixin, FormView):
    allowed_roles = ALL_ROLES
    template_name = "governance/tier_questionnaire.html"
    form_class = TierQuestionnaireForm
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        # Role first (anonymous → login, no role → 403), then scope (404), then who may submit (403).
        if has_role(request.user, *self.allowed_roles):
            self.project = project_in_scope(request.user, kwargs["slug"])
            self.can_assess = can_assess_tier(request.user, self.project)
            if request.method == "POST" and not self.can_assess:
                raise PermissionDenied(NOT_YOUR_TIER)
            self.history = list(tier_assessment_history(project=self.project))
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        current = self.history[0] if self.history else None
        return {
            **super().get_form_kwargs(),
            "answers": current.answers if current else None,
            "read_only": not self.can_assess,
        }

    def post(self, request, *args, **kwargs):
        # "Show the follow-up questions" (and htmx on every change): the questions the answers so far
        # ask, with those answers kept, nothing saved, no errors. Works without JavaScript.
        if PREVIEW in request.POST:
            posted = TierQuestionnaireForm(request.POST).posted_answers()
            form = TierQuestionnaireForm(answers=posted, prefix=self.get_prefix())
            return self.render_to_response(self.get_context_data(form=form, preview=True))
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        current = self.history[0] if self.history else None
        ctx.update(
            project=self.project,
            current=current,
            history=self.history,
            can_assess=self.can_assess,
            sections=ctx["form"].sections(),
            preview_name=PREVIEW,
        )
        return ctx

    def form_valid(self, form):
        try:
            assessment = assessments.tier_assessment_submit(
                by=self.request.user, project=self.project, answers=form.answers
            )
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, f"Assessed as {RiskTier(assessment.tier).label.lower()} (version {assessment.version})."
        )
        return redirect("governance:tier", slug=self.project.slug)
