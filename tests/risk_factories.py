"""Risk-register rows for page, API and rule tests, made through the services (so they are audited
as the application would audit them).

Time passes through the services' own clock: `on_day(d)` makes the services believe today is `d`,
so a risk created "on" a past day has the review date the real cadence gives it, and is overdue now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock

import factory
from django.utils import timezone

from governance.models import Mitigation, Risk, RiskCategory
from governance.risks import assessments, services
from governance.risks import scoring as risk_scoring
from tests.factories import AIProjectFactory


@contextlib.contextmanager
def on_day(day: dt.date):
    """Run governance services as if today were `day`."""
    with (
        mock.patch.object(services, "_today", return_value=day),
        mock.patch.object(assessments, "_today", return_value=day),
    ):
        yield


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


class RiskFactory(factory.Factory):
    """Creates a Risk through risk_create (by=None: the system). Residual defaults to the inherent scores."""

    class Meta:
        model = Risk

    project = factory.SubFactory(AIProjectFactory)
    title = factory.Sequence(lambda n: f"Risk {n}")
    description = "Something that could go wrong."
    category = RiskCategory.FAIRNESS
    likelihood = 3
    impact = 3

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.risk_create(by=None, **kwargs)


class MitigationFactory(factory.Factory):
    """Creates a Mitigation through mitigation_create (by=None: the system)."""

    class Meta:
        model = Mitigation

    risk = factory.SubFactory(RiskFactory)
    action = factory.Sequence(lambda n: f"Mitigating action {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.mitigation_create(by=None, **kwargs)


def overdue_risk(*, project, likelihood: int, impact: int, days_overdue: int = 1, **fields) -> Risk:
    """A risk created so long ago that its review date (by the real cadence of its residual level) passed
    `days_overdue` days ago."""
    residual = (fields.get("residual_likelihood", likelihood), fields.get("residual_impact", impact))
    cadence = risk_scoring.band_for(risk_scoring.score(*residual)).review_days
    with on_day(days_ago(cadence + days_overdue)):
        return RiskFactory(project=project, likelihood=likelihood, impact=impact, **fields)
