"""governance's pages, one module per sub-domain: audit, tiering, risks, findings, sign-offs."""

from .audit import AuditListView
from .dashboard import DashboardView
from .findings import FindingAssignView, FindingBulkView, FindingDetailView, FindingListView, FindingResolveView
from .home import HomeView
from .risks import (
    MitigationCreateView,
    MitigationStatusView,
    ProjectRiskListView,
    RiskCreateView,
    RiskDetailView,
    RiskPortfolioView,
    RiskReviewView,
    RiskTransitionView,
    RiskUpdateView,
)
from .signoffs import (
    ProjectSignOffListView,
    SignOffDecideView,
    SignOffDetailView,
    SignOffListView,
    SignOffRequestCreateView,
    SignOffWithdrawView,
)
from .tiering import TierQuestionnaireView

__all__ = [
    "AuditListView",
    "DashboardView",
    "FindingAssignView",
    "FindingBulkView",
    "FindingDetailView",
    "FindingListView",
    "FindingResolveView",
    "HomeView",
    "MitigationCreateView",
    "MitigationStatusView",
    "ProjectRiskListView",
    "ProjectSignOffListView",
    "RiskCreateView",
    "RiskDetailView",
    "RiskPortfolioView",
    "RiskReviewView",
    "RiskTransitionView",
    "RiskUpdateView",
    "SignOffDecideView",
    "SignOffDetailView",
    "SignOffListView",
    "SignOffRequestCreateView",
    "SignOffWithdrawView",
    "TierQuestionnaireView",
]
