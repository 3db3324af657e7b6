from django.urls import path

from . import views
from .views import audit as audit_views
from .views import catalogue as catalogue_views
from .views import compliance as compliance_views
from .views import incidents as incident_views
from .views import monitoring as monitoring_views
from .views import notifications as notification_views
from .views import signoff_policies as policy_views

app_name = "governance"

urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit"),
    path("audit/chain/", audit_views.AuditChainView.as_view(), name="audit-chain"),
    path("audit/verify/", audit_views.AuditVerifyView.as_view(), name="audit-verify"),
    path("audit/bundle/", audit_views.AuditBundleView.as_view(), name="audit-bundle"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
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
    path("findings/bulk/", views.FindingBulkView.as_view(), name="findings-bulk"),
    path("findings/<int:pk>/", views.FindingDetailView.as_view(), name="finding"),
    path("findings/<int:pk>/assign/", views.FindingAssignView.as_view(), name="finding-assign"),
    path("findings/<int:pk>/resolve/", views.FindingResolveView.as_view(), name="finding-resolve"),
    # The incident register (EU AI Act Art. 73 serious incidents, and ordinary ones).
    path("incidents/", incident_views.IncidentListView.as_view(), name="incidents"),
    path("incidents/new/", incident_views.IncidentCreateView.as_view(), name="incident-create"),
    path("incidents/<int:pk>/", incident_views.IncidentDetailView.as_view(), name="incident"),
    *(
        path(
            f"incidents/<int:pk>/{what}/",
            incident_views.IncidentActionView.as_view(what=what, allowed_roles=who),
            name=f"incident-{what}",
        )
        for what, who in incident_views.INCIDENT_ACTIONS.items()
    ),
    # A person's notifications and their e-mail preferences.
    path("notifications/", notification_views.NotificationInboxView.as_view(), name="notifications"),
    path("notifications/badge/", notification_views.NotificationBadgeView.as_view(), name="notification-badge"),
    path("notifications/read/", notification_views.NotificationReadAllView.as_view(), name="notifications-read"),
    path("notifications/<int:pk>/", notification_views.NotificationOpenView.as_view(), name="notification-open"),
    path(
        "notifications/preferences/",
        notification_views.NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
    # Sign-off: the review queue, one request with its evidence and decisions, a project's sign-off tab.
    path("signoffs/", views.SignOffListView.as_view(), name="signoffs"),
    path("signoffs/policies/", policy_views.SignOffPolicyListView.as_view(), name="signoff-policies"),
    path("signoffs/policies/publish/", policy_views.SignOffPolicyPublishView.as_view(), name="signoff-policy-publish"),
    path("signoffs/<int:pk>/", views.SignOffDetailView.as_view(), name="signoff"),
    path("signoffs/<int:pk>/decide/", views.SignOffDecideView.as_view(), name="signoff-decide"),
    path("signoffs/<int:pk>/withdraw/", views.SignOffWithdrawView.as_view(), name="signoff-withdraw"),
    path("projects/<slug:slug>/signoffs/", views.ProjectSignOffListView.as_view(), name="project-signoffs"),
    path("projects/<slug:slug>/signoffs/new/", views.SignOffRequestCreateView.as_view(), name="signoff-request"),
    # PII and compliance: the inventory, one dataset (classify, record), a project's compliance tab, evidence.
    # The DPO's workspace: what waits, the dataset catalogue (bulk classification), every label, the inventory.
    path("pii/", catalogue_views.CatalogueView.as_view(), name="pii-inventory"),
    path("pii/bulk/", catalogue_views.BulkClassifyView.as_view(), name="pii-bulk"),
    path("pii/labels/", compliance_views.PIIInventoryView.as_view(), name="pii-labels"),
    path("pii/inventory/", catalogue_views.InventoryView.as_view(), name="pii-register"),
    path("pii/inventory/register/", catalogue_views.RegisterView.as_view(), name="pii-register-dataset"),
    path("pii/inventory/import/", catalogue_views.ImportView.as_view(), name="pii-import"),
    path("pii/inventory/template.csv", catalogue_views.InventoryTemplateView.as_view(), name="pii-import-template"),
    path("datasets/<int:pk>/", compliance_views.DatasetDetailView.as_view(), name="dataset"),
    path("datasets/<int:pk>/classify/", compliance_views.DatasetClassifyView.as_view(), name="dataset-classify"),
    path("datasets/<int:pk>/compliance/", compliance_views.DatasetComplianceView.as_view(), name="dataset-compliance"),
    path(
        "classifications/<int:pk>/retract/",
        compliance_views.ClassificationRetractView.as_view(),
        name="classification-retract",
    ),
    path(
        "projects/<slug:slug>/compliance/", compliance_views.ProjectComplianceView.as_view(), name="project-compliance"
    ),
    path("obligations/<int:pk>/evidence/", compliance_views.EvidenceAddView.as_view(), name="evidence-add"),
    path("evidence/<int:pk>/file/", compliance_views.EvidenceFileView.as_view(), name="evidence-file"),
    # Monitoring: a project's signals over time and its plan (bounds, frequency, what a breach does).
    path(
        "projects/<slug:slug>/monitoring/", monitoring_views.ProjectMonitoringView.as_view(), name="project-monitoring"
    ),
    path(
        "monitoring/plan/<int:pk>/delete/",
        monitoring_views.MonitoringPlanItemDeleteView.as_view(),
        name="monitoring-plan-delete",
    ),
]
