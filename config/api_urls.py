"""One router for /api/v1/."""

from django.urls import path
from rest_framework.routers import APIRootView, DefaultRouter

from core.roles import ALL_ROLES
from governance.api.assessments import RiskTierAssessmentViewSet
from governance.api.audit import AuditEventViewSet
from governance.api.champions import ChampionChallengerView
from governance.api.compliance import ClassificationViewSet, EvidenceViewSet, ObligationViewSet
from governance.api.findings import FindingViewSet
from governance.api.gate import GatePublicKeyView, GateView
from governance.api.incidents import IncidentViewSet
from governance.api.lineage import DatasetViewSet, LineageStatusView, LineageView
from governance.api.portfolio import PortfolioSummaryView
from governance.api.risks import MitigationViewSet, RiskViewSet
from governance.api.signals import MonitoringSignalViewSet, SignalsView
from governance.api.signoffs import SignOffPolicyViewSet, SignOffViewSet
from projects.api.inventory import AIProjectViewSet, TeamViewSet
from projects.api.registries import DeploymentViewSet, ModelVersionViewSet, RegisteredModelViewSet, RegistryViewSet
from projects.api.roi import FxRateViewSet, ROIEntryViewSet


class KeelApiRoot(APIRootView):
    """The index of /api/v1/: every role may see which endpoints exist."""

    read_roles = ALL_ROLES


router = DefaultRouter()
router.APIRootView = KeelApiRoot
router.register("teams", TeamViewSet, basename="team")
router.register("projects", AIProjectViewSet, basename="project")
router.register("registries", RegistryViewSet, basename="registry")
router.register("registered-models", RegisteredModelViewSet, basename="registered-model")
router.register("model-versions", ModelVersionViewSet, basename="model-version")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("risk-assessments", RiskTierAssessmentViewSet, basename="risk-assessment")
router.register("risks", RiskViewSet, basename="risk")
router.register("mitigations", MitigationViewSet, basename="mitigation")
router.register("findings", FindingViewSet, basename="finding")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("roi-entries", ROIEntryViewSet, basename="roi-entry")
router.register("fx-rates", FxRateViewSet, basename="fx-rate")
router.register("signoffs", SignOffViewSet, basename="signoff")
router.register("signoff-policies", SignOffPolicyViewSet, basename="signoff-policy")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("classifications", ClassificationViewSet, basename="classification")
router.register("obligations", ObligationViewSet, basename="obligation")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("monitoring-signals", MonitoringSignalViewSet, basename="monitoring-signal")

urlpatterns = [
    # OpenLineage ingest: Marquez's path and body, so any producer's HTTP transport works unchanged.
    path("lineage", LineageView.as_view(), name="lineage"),
    # Producers are configured with either spelling (Marquez's has none; some add one): the same view,
    # documented once.
    path("lineage/", LineageView.as_view(schema=None), name="lineage-slash"),
    path("lineage/status", LineageStatusView.as_view(), name="lineage-status"),
    # The deployment gate for CI/CD, and the key that verifies its answers.
    path("gate", GateView.as_view(), name="gate"),
    path("gate/public-key", GatePublicKeyView.as_view(), name="gate-public-key"),
    # The executive dashboard's figures (same filters and scope as the page).
    path("portfolio/summary", PortfolioSummaryView.as_view(), name="portfolio-summary"),
    # Monitoring signals about a model version: Keel's JSON form or an Evidently report as it is.
    path("signals", SignalsView.as_view(), name="signals"),
    path("champion-challenger", ChampionChallengerView.as_view(), name="champion-challenger"),
    *router.urls,
]
