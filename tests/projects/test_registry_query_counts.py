"""A registry's page and exports, and the registries list's export, cost a fixed number of queries however
many models and versions they show (no N+1)."""

from __future__ import annotations

import pytest

from projects.models import SyncRun, SyncStatus
from tests.projects.test_query_counts import add_registries, add_versions, page_versions, queries_for
from tests.query_counts import assert_queries, csv_line_count
from tests.registry_factories import T0, RegisteredModelFactory, RegistryFactory


def add_models_with_versions(registry, project, models: int, versions: int) -> None:
    """`models` models (every other one linked to `project`), each with `versions` versions."""
    for n in range(models):
        add_versions(RegisteredModelFactory(registry=registry, project=project if n % 2 else None), versions)


# session, user, roles, the registry (with its health), the COUNT for the page, the models, their versions,
# what those hold now, the last syncs, the project filter's options; a team lead's scope costs 1 more.
@pytest.mark.parametrize(("user_fixture", "budget"), [("executive", 10), ("team_lead", 11), ("admin_user", 10)])
def test_a_registry_page_costs_the_same_for_ten_or_500_versions(client, request, project, user_fixture, budget):
    client.force_login(request.getfixturevalue(user_fixture))
    registry = RegistryFactory()
    SyncRun.objects.create(registry=registry, started_at=T0, finished_at=T0, status=SyncStatus.SUCCEEDED)
    url = f"/projects/registries/{registry.pk}/"
    add_models_with_versions(registry, project, 2, 5)
    small = queries_for(client, url, 10, page_versions)
    add_models_with_versions(registry, project, 23, 20)
    for model in registry.models.order_by("pk")[:2]:
        add_versions(model, 15)
    large = queries_for(client, url, 25 * 20, page_versions)  # 25 models a page, the newest 20 versions each
    assert_queries(small, large, equal=budget, what="the registry page")


# session, user, roles, the registry, the COUNT the export's chunks are cut by, the models, their versions,
# what those hold now; a team lead's scope costs 1 more.
@pytest.mark.parametrize(("user_fixture", "budget"), [("executive", 8), ("team_lead", 9)])
def test_a_registry_export_costs_the_same_for_10_or_500_versions(client, request, project, user_fixture, budget):
    client.force_login(request.getfixturevalue(user_fixture))
    registry = RegistryFactory()
    url = f"/projects/registries/{registry.pk}/?export=csv"
    add_models_with_versions(registry, project, 2, 5)
    small = queries_for(client, url, 10, csv_line_count)
    add_models_with_versions(registry, project, 49, 10)
    large = queries_for(client, url, 500, csv_line_count)
    assert_queries(small, large, equal=budget, what="the registry export")


@pytest.mark.parametrize("user_fixture", ["executive", "team_lead"])
def test_the_registries_export_costs_the_same_for_one_or_fifty_registries(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    add_registries(1)
    small = queries_for(client, "/projects/registries/?export=csv", 1, csv_line_count)
    add_registries(49)
    large = queries_for(client, "/projects/registries/?export=csv", 50, csv_line_count)
    assert_queries(small, large, equal=4, what="the registries export")
