"""Links to a registry's own pages of a model version and its run (projects/registries/links.py): pure
functions of the registry's configuration, so they are tested on unsaved rows."""

from __future__ import annotations

import pytest

from projects.models import ModelVersion, RegisteredModel, Registry, RegistryKind
from projects.registries.links import run_url, version_url


def version(*, kind=RegistryKind.MLFLOW, base_url="http://mlflow.example:5000", region="", model="fraud",
            number="7", run_id="abc123") -> ModelVersion:  # fmt: skip
    registry = Registry(name="r", kind=kind, base_url=base_url, region=region)
    return ModelVersion(registered_model=RegisteredModel(registry=registry, name=model), version=number, run_id=run_id)


def test_an_mlflow_version_links_to_the_ui_hash_routes_of_its_version_and_run():
    v = version()
    assert version_url(v) == "http://mlflow.example:5000/#/models/fraud/versions/7"
    assert run_url(v) == "http://mlflow.example:5000/#/runs/abc123"


def test_a_trailing_slash_or_a_path_in_the_base_url_is_kept_without_doubling_the_slash():
    v = version(base_url="https://ml.example.com/mlflow/")
    assert version_url(v) == "https://ml.example.com/mlflow/#/models/fraud/versions/7"
    assert run_url(v) == "https://ml.example.com/mlflow/#/runs/abc123"


def test_names_and_ids_are_quoted_so_they_cannot_change_the_route():
    v = version(model="team a/fraud#1", number="1?x", run_id="../r 1")
    assert version_url(v) == "http://mlflow.example:5000/#/models/team%20a%2Ffraud%231/versions/1%3Fx"
    assert run_url(v) == "http://mlflow.example:5000/#/runs/..%2Fr%201"


@pytest.mark.parametrize(
    ("fields", "version_link", "run_link"),
    [
        ({"run_id": ""}, "http://mlflow.example:5000/#/models/fraud/versions/7", ""),  # no run: no run link
        ({"base_url": ""}, "", ""),  # nowhere to link to
        ({"kind": RegistryKind.SAGEMAKER, "base_url": "", "region": ""}, "", ""),
    ],
)
def test_where_a_link_cannot_be_built_it_is_empty(fields, version_link, run_link):
    v = version(**fields)
    assert (version_url(v), run_url(v)) == (version_link, run_link)


def test_a_sagemaker_version_links_to_its_console_page_in_its_region_and_has_no_run_link():
    v = version(kind=RegistryKind.SAGEMAKER, base_url="", region="eu-west-1", model="fraud-group", number="3")
    assert version_url(v) == (
        "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1"
        "#/model-registry/model-package-groups/fraud-group/versions/3"
    )
    assert run_url(v) == ""
