"""The landing page at "/" (governance extends it) and its team-lead ROI widget."""

from __future__ import annotations

from django.views.generic import TemplateView

from core.roles import Role, has_role

from ..inventory.selectors import project_stage_counts, projects_for_user
from ..roi import services
from ..roi.forms import RoiQuickLogForm, this_month
from ..roi.selectors import roi_month_status_for_user


class HomeView(TemplateView):
    """The landing page: the portfolio at a glance, scoped to what the user may see; a team lead also
    gets their team projects' ROI status for this month and the quick-log form.

    governance.views.HomeView extends this for the personas whose home shows governance's data (an
    executive's is the portfolio dashboard, a risk officer's adds the findings): "/" routes there."""

    template_name = "projects/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        ctx["stage_counts"] = project_stage_counts(user=user)
        ctx["my_projects"] = projects_for_user(user=user).filter(owner=user).order_by("name")[:10]
        if has_role(user, Role.TEAM_LEAD):
            ctx["team_lead_home"] = True
            ctx.update(roi_home_context(user=user))
        return ctx


def roi_home_context(*, user) -> dict:
    """What templates/projects/partials/_roi_quick_log.html needs: the user's team projects with this
    month's ROI status, and the quick-log form (only for projects they may log)."""
    month = this_month()
    projects = list(roi_month_status_for_user(user=user, month=month))
    return {
        "roi_month": month,
        "roi_projects": projects,
        "roi_quick_log_form": RoiQuickLogForm(user=user, projects=projects),
        "roi_reporting_currency": services.reporting_currency(),
    }
