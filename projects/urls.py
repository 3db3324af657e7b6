from django.urls import path

from .views import inventory, registries, roi

app_name = "projects"

urlpatterns = [
    path("", inventory.ProjectListView.as_view(), name="list"),
    path("new/", inventory.ProjectCreateView.as_view(), name="create"),
    # Before <slug:slug>/: "registries" is a reserved project slug for this reason.
    path("registries/", registries.RegistryListView.as_view(), name="registries"),
    path("registries/<int:pk>/", registries.RegistryDetailView.as_view(), name="registry"),
    path("registries/<int:pk>/sync/", registries.RegistrySyncView.as_view(), name="registry-sync"),
    path("registries/<int:pk>/row/", registries.RegistryRowView.as_view(), name="registry-row"),
    path("registries/models/<int:pk>/", registries.RegisteredModelView.as_view(), name="registry-model"),
    # Two segments, so no project slug can collide with it.
    path("roi/quick-log/", roi.RoiQuickLogView.as_view(), name="roi-quick-log"),
    path("<slug:slug>/", inventory.ProjectDetailView.as_view(), name="detail"),
    path("<slug:slug>/edit/", inventory.ProjectUpdateView.as_view(), name="edit"),
    path("<slug:slug>/stage/", inventory.ProjectStageView.as_view(), name="stage"),
    path("<slug:slug>/models/link/", registries.ProjectModelLinkView.as_view(), name="link-model"),
    path("<slug:slug>/roi/", roi.ProjectRoiView.as_view(), name="roi"),
    path("<slug:slug>/roi/import/", roi.ProjectRoiImportView.as_view(), name="roi-import"),
    path(
        "<slug:slug>/roi/template.csv",
        roi.ProjectRoiTemplateView.as_view(),
        {"fmt": "csv"},
        name="roi-template-csv",
    ),
    path(
        "<slug:slug>/roi/template.xlsx",
        roi.ProjectRoiTemplateView.as_view(),
        {"fmt": "xlsx"},
        name="roi-template-xlsx",
    ),
    path("<slug:slug>/roi/<int:pk>/delete/", roi.ProjectRoiDeleteView.as_view(), name="roi-delete"),
    path("<slug:slug>/roi/deleted/<int:pk>/restore/", roi.ProjectRoiRestoreView.as_view(), name="roi-restore"),
]
