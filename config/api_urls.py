"""One router for /api/v1/: each app registers its viewsets in its api/urls.py."""

from rest_framework.routers import DefaultRouter

from governance.api.views import AuditEventViewSet
from projects.api.views import AIProjectViewSet, TeamViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("projects", AIProjectViewSet, basename="project")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
