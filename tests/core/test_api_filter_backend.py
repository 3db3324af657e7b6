"""core.api.filters.FilterBackend: a list request that names no filter gets the queryset django-filter's
own backend gives (the same SQL, for every persona and FilterSet of the main lists), without the form;
a request that names a filter still goes through the form and its errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import EmptyResultSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.api import filters
from core.api.filters import FilterBackend
from governance.api.audit import AuditEventViewSet
from governance.api.findings import FindingViewSet
from governance.api.risks import RiskViewSet
from projects.api.inventory import AIProjectViewSet
from projects.api.registries import DeploymentViewSet, ModelVersionViewSet
from projects.api.roi import ROIEntryViewSet

VIEWSETS = [AIProjectViewSet, ModelVersionViewSet, DeploymentViewSet, RiskViewSet, FindingViewSet, ROIEntryViewSet,
            AuditEventViewSet]  # fmt: skip


def filtered(backend, viewset, user, query: str = ""):
    request = Request(APIRequestFactory().get(f"/api/v1/x/{query}"))
    request.user = user
    view = viewset(action="list", request=request, format_kwarg=None, kwargs={})
    return backend.filter_queryset(request, view.get_queryset(), view)


def sql(queryset) -> str:
    try:
        return str(queryset.query)
    except EmptyResultSet:  # a scope that shows this persona nothing
        return "nothing"


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(FilterBackend, "_names", {})
    monkeypatch.setattr(FilterBackend, "_empty", {})


@pytest.mark.parametrize("viewset", VIEWSETS, ids=[v.__name__ for v in VIEWSETS])
@pytest.mark.parametrize("persona", ["risk_officer", "team_lead"])
@pytest.mark.parametrize("query", ["", "?page=2&page_size=3", "?unknown=1"])
def test_a_request_naming_no_filter_gets_django_filters_queryset(request, team, viewset, persona, query):
    user = request.getfixturevalue(persona)
    expected = sql(filtered(DjangoFilterBackend(), viewset, user, query))
    backend = FilterBackend()
    first = filtered(backend, viewset, user, query)  # through the form: takes its empty cleaned data
    assert viewset.filterset_class in FilterBackend._empty
    assert FilterBackend._empty[viewset.filterset_class] is not None
    second = filtered(backend, viewset, user, query)  # without the form
    assert sql(first) == sql(second) == expected


def test_without_the_form_the_filterset_is_the_same_but_its_filters(team_lead):
    made = []
    original = filters._unfilled

    def spy(klass, **kwargs):
        made.append((original(klass, **kwargs), klass(**kwargs)))
        return made[-1][0]

    backend = FilterBackend()
    filtered(backend, RiskViewSet, team_lead)
    filters._unfilled = spy
    try:
        filtered(backend, RiskViewSet, team_lead)
    finally:
        filters._unfilled = original
    (lean, full), *_ = made
    assert set(vars(lean)) - {"_form", "_qs"} == set(vars(full))  # the backend set the form's stand-in, then qs
    assert type(lean._form) is filters._CleanForm
    assert (lean.is_bound, lean.data, lean.request, lean.form_prefix) == (True, full.data, full.request, None)
    assert list(lean.filters) == list(full.filters)
    assert all(f.parent is lean and f.model is full.filters[name].model for name, f in lean.filters.items())


def test_a_request_naming_a_filter_goes_through_the_form(client, team_lead):
    client.force_login(team_lead)
    assert client.get("/api/v1/risks/").status_code == 200
    response = client.get("/api/v1/risks/?likelihood=9")
    assert response.status_code == 400
    assert "likelihood" in response.json()
    assert client.get("/api/v1/risks/?likelihood=3").status_code == 200
