from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="list"),
    path("new/", views.ProjectCreateView.as_view(), name="create"),
    # Before <slug:slug>/: "registries" is a reserved project slug for this reason.
    path("registries/", views.RegistryListView.as_view(), name="registries"),
    path("registries/<int:pk>/sync/", views.RegistrySyncView.as_view(), name="registry-sync"),
    path("<slug:slug>/", views.ProjectDetailView.as_view(), name="detail"),
    path("<slug:slug>/edit/", views.ProjectUpdateView.as_view(), name="edit"),
    path("<slug:slug>/stage/", views.ProjectStageView.as_view(), name="stage"),
    path("<slug:slug>/models/link/", views.ProjectModelLinkView.as_view(), name="link-model"),
]
