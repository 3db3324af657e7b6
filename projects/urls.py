from django.urls import path

from . import roi_views, views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="list"),
    path("new/", views.ProjectCreateView.as_view(), name="create"),
    # Before <slug:slug>/: "registries" is a reserved project slug for this reason.
    path("registries/", views.RegistryListView.as_view(), name="registries"),
    path("registries/<int:pk>/sync/", views.RegistrySyncView.as_view(), name="registry-sync"),
    # Two segments, so no project slug can collide with it.
    path("roi/quick-log/", roi_views.RoiQuickLogView.as_view(), name="roi-quick-log"),
    path("<slug:slug>/", views.ProjectDetailView.as_view(), name="detail"),
    path("<slug:slug>/edit/", views.ProjectUpdateView.as_view(), name="edit"),
    path("<slug:slug>/stage/", views.ProjectStageView.as_view(), name="stage"),
    path("<slug:slug>/models/link/", views.ProjectModelLinkView.as_view(), name="link-model"),
    path("<slug:slug>/roi/", roi_views.ProjectRoiView.as_view(), name="roi"),
    path("<slug:slug>/roi/import/", roi_views.ProjectRoiImportView.as_view(), name="roi-import"),
    path(
        "<slug:slug>/roi/template.csv",
        roi_views.ProjectRoiTemplateView.as_view(),
        {"fmt": "csv"},
        name="roi-template-csv",
    ),
    path(
        "<slug:slug>/roi/template.xlsx",
        roi_views.ProjectRoiTemplateView.as_view(),
        {"fmt": "xlsx"},
        name="roi-template-xlsx",
    ),
    path("<slug:slug>/roi/<int:pk>/delete/", roi_views.ProjectRoiDeleteView.as_view(), name="roi-delete"),
]
