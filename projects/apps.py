from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """The facts: teams, AI projects and (later) their models, deployments and ROI."""

    name = "projects"
    verbose_name = "AI projects"
