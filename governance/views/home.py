"""The home page at "/" for each persona: projects' HomeView extended with governance's parts.

governance imports projects, never the reverse, so the parts of the home pages that read governance (the
executive's dashboard, a reviewer's queue and findings) are added by this subclass, which config/urls.py
routes "/" to.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.shortcuts import render
from django.utils import timezone

from core.roles import Role, has_role, user_roles
from projects.views import home as project_views

from ..compliance.catalogue import missing_record_datasets, suggested_fields
from ..findings.selectors import findings_for_user, open_findings_assigned_to
from ..findings.subjects import finding_subject
from ..models import Verdict
from ..risks.selectors import risk_reviews_due
from ..signoff.permissions import REVIEWERS
from ..signoff.selectors import review_queue_for_user
from .dashboard import dashboard_context, export_dashboard

HOME_FINDINGS_SHOWN = 10
HOME_SIGNOFFS_SHOWN = 10
HOME_REVIEWS_SHOWN = 10
REVIEWS_DUE_WITHIN_DAYS = 7


def roles_waiting_for(request, held: frozenset[str]) -> list[str]:
    """The roles of `request`'s policy that the user holds and nobody has approved in yet (its decisions
    are prefetched by signoffs_for_user, so this costs no query)."""
    filled = {d.role for d in request.decisions.all() if d.verdict == Verdict.APPROVE}
    return [role for role in request.policy.required_roles if role in held and role not in filled]


def reviewer_home_context(*, user) -> dict:
    """What waits for a reviewer (risk officer, DPO): sign-offs waiting for a role they hold, findings
    assigned to them, risk reviews overdue or due this week, and the open findings in their scope. Each
    list is capped, with its full count and a link to the whole list; a fixed number of queries."""
    held = user_roles(user)
    role_labels = dict(Role.choices)
    queue = review_queue_for_user(user=user)
    signoffs = list(queue.select_related("model_version__registered_model")[:HOME_SIGNOFFS_SHOWN])
    for request in signoffs:
        request.waiting_roles = [role_labels.get(r, r) for r in roles_waiting_for(request, held)]
    now = timezone.now()
    today = timezone.localdate()
    mine = open_findings_assigned_to(user=user)
    mine_counts = mine.aggregate(total=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    reviews = risk_reviews_due(user=user, today=today, within_days=REVIEWS_DUE_WITHIN_DAYS)
    review_counts = reviews.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(next_review_date__lt=today) | Q(review_overdue=True))
    )
    open_findings = findings_for_user(user=user).filter(resolved_at__isnull=True)
    return {
        "signoffs": signoffs,
        "signoffs_count": queue.count(),
        "my_findings": [(f, finding_subject(f)) for f in mine[:HOME_FINDINGS_SHOWN]],
        "my_findings_count": mine_counts["total"],
        "my_findings_overdue": mine_counts["overdue"],
        "reviews": list(reviews[:HOME_REVIEWS_SHOWN]),
        "reviews_count": review_counts["total"],
        "reviews_overdue": review_counts["overdue"],
        "reviews_until": today + dt.timedelta(days=REVIEWS_DUE_WITHIN_DAYS),
        "today": today,
        "open_findings": list(open_findings[:HOME_FINDINGS_SHOWN]),
        "open_findings_count": open_findings.count(),
        # The DPO's own queue: columns whose names look like personal data, waiting to be confirmed, and
        # datasets carrying PII without a legal basis or owner (the PII workspace says the rest).
        "pii": (
            {"suggested": suggested_fields().count(), "record_missing": missing_record_datasets().count()}
            if has_role(user, Role.COMPLIANCE)
            else None
        ),
    }


class HomeView(project_views.HomeView):
    """ "/" for each persona: an executive's home is the dashboard; a reviewer's (risk officer, DPO) adds
    what waits for them (reviewer_home_context); everyone else gets projects' home
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
            ctx["reviewer_home"] = reviewer_home_context(user=user)
        return ctx
