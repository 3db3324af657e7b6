"""One router for /api/v1/."""

from rest_framework.routers import APIRootView, DefaultRouter

from core.roles import Role
from governance.api.assessments import RiskTierAssessmentViewSet
from governance.api.findings import FindingViewSet
from governance.api.risks import MitigationViewSet, RiskViewSet
from governance.api.views import AuditEventViewSet
from projects.api.views import (
    AIProjectViewSet,
    DeploymentViewSet,
    ModelVersionViewSet,
    RegisteredModelViewSet,
    RegistryViewSet,
    TeamViewSet,
)


class KeelApiRoot(APIRootView):
    """The index of /api/v1/: every role may see which endpoints exist."""

    read_roles = (Role.EXECUTIVE, Role.RISK_OFFICER, Role.TEAM_LEAD, Role.ADMIN)


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

urlpatterns = router.urls
