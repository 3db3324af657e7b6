from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views
from governance import views as governance_views

urlpatterns = [
    # projects' home extended with governance's parts (the executive's dashboard, a risk officer's findings).
    path("", governance_views.HomeView.as_view(), name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/", include("projects.urls")),
    path("governance/", include("governance.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON for unmatched paths under /api/, the HTML page elsewhere.
handler404 = "core.views.page_not_found"
