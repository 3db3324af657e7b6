"""Links from Keel to a registry's own pages (MLflow's UI, SageMaker's console), built in one place.

Pure functions of a registry's configuration and a model version's identifiers: no request is made. An
MLflow server serves its UI from the same base URL as its REST API; the UI routes are hash routes
(`#/models/<name>/versions/<v>`, `#/runs/<run id>`, which MLflow redirects to the run's experiment).
SageMaker's console URL needs the region and the package ARN's group name. Where a link cannot be built
(no base URL, no run), the functions return "" and the page shows the identifier without a link.
"""

from __future__ import annotations

from urllib.parse import quote

from projects.models import ModelVersion, Registry, RegistryKind


def _mlflow_ui(registry: Registry) -> str:
    return (registry.base_url or "").rstrip("/")


def version_url(version: ModelVersion) -> str:
    """The registry's page of this model version, or ""."""
    model = version.registered_model
    registry = model.registry
    name, number = quote(model.name, safe=""), quote(version.version, safe="")
    if registry.kind == RegistryKind.MLFLOW and _mlflow_ui(registry):
        return f"{_mlflow_ui(registry)}/#/models/{name}/versions/{number}"
    if registry.kind == RegistryKind.SAGEMAKER and registry.region:
        region = quote(registry.region, safe="")
        return (
            f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
            f"#/model-registry/model-package-groups/{name}/versions/{number}"
        )
    return ""


def run_url(version: ModelVersion) -> str:
    """The registry's page of the run (training job) that produced this version, or ""."""
    registry = version.registered_model.registry
    if registry.kind == RegistryKind.MLFLOW and _mlflow_ui(registry) and version.run_id:
        return f"{_mlflow_ui(registry)}/#/runs/{quote(version.run_id, safe='')}"
    return ""
