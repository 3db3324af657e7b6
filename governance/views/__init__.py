"""governance's pages, one module per sub-domain: audit, tiering, risks, findings."""

from .audit import AuditListView
from .findings import FindingAssignView, FindingListView, FindingResolveView
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
from .tiering import TierQuestionnaireView

__all__ = [
    "AuditListView",
    "FindingAssignView",
    "FindingListView",
    "FindingResolveView",
    "MitigationCreateView",
    "MitigationStatusView",
    "ProjectRiskListView",
    "RiskCreateView",
    "RiskDetailView",
    "RiskPortfolioView",
    "RiskReviewView",
    "RiskTransitionView",
    "RiskUpdateView",
    "TierQuestionnaireView",
]
