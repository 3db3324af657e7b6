"""The home page at "/" for each persona: projects' HomeView extended with governance's parts.

governance imports projects, never the reverse, so the parts of the home pages that read governance (the
executive's dashboard, a reviewer's queue and findings) are added by this subclass, which config/urls.py
routes "/" to.
"""

from __future__ import annotations

from django.shortcuts import render

from core.roles import Role, has_role
from projects.views import home as project_views

from ..findings.selectors import findings_for_user
from ..signoff.permissions import REVIEWERS
from ..signoff.selectors import review_queue_for_user
from .dashboard import dashboard_context, export_dashboard

HOME_FINDINGS_SHOWN = 10
HOME_SIGNOFFS_SHOWN = 10


class HomeView(project_views.HomeView):
    """ "/" for each persona: an executive's home is the dashboard; a reviewer's (risk officer, DPO) adds
    the sign-offs waiting for a role they hold and the open findings; everyone else gets projects' home
    (a team lead's projects and ROI)."""

    def get(self, request, *args, **kwargs):
        if has_role(request.user, Role.EXECUTIVE):
            if request.GET.get("export") is not None:
                return export_dashboard(request, request.GET["export"])
            ctx = {"view": self, **dashboard_context(request)}
            return render(request, "governance/dashboard.html", ctx)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        if has_role(user, *REVIEWERS):
            open_findings = findings_for_user(user=user).filter(resolved_at__isnull=True)
            queue = review_queue_for_user(user=user)
            ctx["reviewer_home"] = {
                "signoffs": list(queue.select_related("model_version__registered_model")[:HOME_SIGNOFFS_SHOWN]),
                "signoffs_count": queue.count(),
                "open_findings": list(open_findings[:HOME_FINDINGS_SHOWN]),
                "open_findings_count": open_findings.count(),
            }
        return ctx
