from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import oidc
from core import views as core_views
from governance import views as governance_views

urlpatterns = [
    # projects' home extended with governance's parts (the executive's dashboard, a risk officer's findings).
    path("", governance_views.HomeView.as_view(), name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("login/", core_views.SignInView.as_view(redirect_authenticated_user=True), name="login"),
    # Ends the provider's session too after a single sign-on (core/oidc.py); a plain sign-out otherwise.
    path("logout/", oidc.SignOut.as_view(), name="logout"),
    # Single sign-on (404 unless KEEL_OIDC_ISSUER is set): to the provider, and back with a code.
    path("oidc/authenticate/", login_not_required(oidc.SignInStart.as_view()), name="oidc_authentication_init"),
    path("oidc/callback/", login_not_required(oidc.SignInCallback.as_view()), name="oidc_authentication_callback"),
    path("projects/", include("projects.urls")),
    path("governance/", include("governance.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON for unmatched paths under /api/, the HTML page elsewhere.
handler404 = "core.views.page_not_found"
