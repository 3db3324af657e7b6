"""Registry rows shared by the registry API and page tests."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from projects.models import LinkSource, Signal
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def rows(project, other_project):
    """One registry and three models: `fraud` linked to `project`, `churn` to `other_project`, `pricing` to none.

    fraud has versions 1-3 (3 deleted from the registry); its alias champion was on v1 from 09:00 to
    11:00 and is on v2 since; v2 is in the legacy stage Production since 10:00. churn's v1 holds champion.
    """
    registry = RegistryFactory(name="mlflow-prod")
    fraud = RegisteredModelFactory(
        registry=registry, name="fraud-detector", project=project, link_source=LinkSource.TAG
    )
    v1 = ModelVersionFactory(registered_model=fraud, version="1", status="READY")
    v2 = ModelVersionFactory(registered_model=fraud, version="2", status="READY", stage="Production")
    v3 = ModelVersionFactory(registered_model=fraud, version="3", status="FAILED_REGISTRATION", deleted_at=T0 + HOUR)
    hold(v1, "champion", T0, T0 + 2 * HOUR)
    hold(v2, "champion", T0 + 2 * HOUR)
    hold(v2, "Production", T0 + HOUR, signal=Signal.STAGE)
    churn = RegisteredModelFactory(registry=registry, name="churn", project=other_project, link_source=LinkSource.TAG)
    c1 = ModelVersionFactory(registered_model=churn, version="1")
    hold(c1, "champion", T0)
    pricing = RegisteredModelFactory(registry=registry, name="pricing")
    p1 = ModelVersionFactory(registered_model=pricing, version="1", status="PENDING_REGISTRATION")
    return SimpleNamespace(
        registry=registry, fraud=fraud, v1=v1, v2=v2, v3=v3, churn=churn, c1=c1, pricing=pricing, p1=p1
    )
