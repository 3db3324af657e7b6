from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit"),
]
