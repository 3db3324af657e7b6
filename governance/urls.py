from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit"),
    # The risk register: the portfolio page, one risk and its workflow, a project's risk tab.
    path("risks/", views.RiskPortfolioView.as_view(), name="risks"),
    path("risks/<int:pk>/", views.RiskDetailView.as_view(), name="risk"),
    path("risks/<int:pk>/edit/", views.RiskUpdateView.as_view(), name="risk-edit"),
    path("risks/<int:pk>/transition/", views.RiskTransitionView.as_view(), name="risk-transition"),
    path("risks/<int:pk>/review/", views.RiskReviewView.as_view(), name="risk-review"),
    path("risks/<int:pk>/mitigations/", views.MitigationCreateView.as_view(), name="mitigation-create"),
    path("mitigations/<int:pk>/status/", views.MitigationStatusView.as_view(), name="mitigation-status"),
    path("projects/<slug:slug>/risks/", views.ProjectRiskListView.as_view(), name="project-risks"),
    path("projects/<slug:slug>/risks/new/", views.RiskCreateView.as_view(), name="risk-create"),
    path("projects/<slug:slug>/tier/", views.TierQuestionnaireView.as_view(), name="tier"),
    path("findings/", views.FindingListView.as_view(), name="findings"),
    path("findings/<int:pk>/assign/", views.FindingAssignView.as_view(), name="finding-assign"),
    path("findings/<int:pk>/resolve/", views.FindingResolveView.as_view(), name="finding-resolve"),
]
