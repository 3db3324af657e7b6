"""Champion / challenger: the version holding the production alias against the versions holding the others.

The champion of a model is the version holding its first production alias (KEEL_PRODUCTION_ALIASES, in
that order); every other version holding an alias is a challenger. Their metrics are compared side by
side, key by key and dataset by dataset. Which value is better follows the direction of the metric in the
tier's current sign-off policy (thresholds.py); a metric the policy does not name has no direction, so
Keel shows the delta and does not say which is better.

A challenger *beats* its champion when, on the policy's metrics both have, it is nowhere worse and
somewhere better; with no such metric it does not beat it (nothing is a win by default).
Reads only: a few queries however many models (the caller passes the models in scope).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from projects.models import DeploymentObservation, RegisteredModel, Signal, VersionMetric

from ..models import MetricRequirement, SignOffPolicy
from .thresholds import better

CHAMPION, CHALLENGER, EQUAL = "champion", "challenger", "equal"


@dataclass(frozen=True)
class Holder:
    alias: str
    version_id: int
    version: str
    since: dt.datetime


@dataclass(frozen=True)
class MetricDelta:
    key: str
    dataset_name: str
    champion: float | None
    challenger: float | None
    direction: str  # "" when the policy names no direction for this metric

    @property
    def delta(self) -> float | None:
        if self.champion is None or self.challenger is None:
            return None
        return self.challenger - self.champion

    @property
    def better(self) -> str:
        """CHAMPION, CHALLENGER, EQUAL, or "" when it cannot be said (no direction, or a value missing)."""
        if not self.direction or self.delta is None:
            return ""
        if better(self.challenger, self.champion, self.direction):
            return CHALLENGER
        if better(self.champion, self.challenger, self.direction):
            return CHAMPION
        return EQUAL


@dataclass(frozen=True)
class Challenge:
    challenger: Holder
    metrics: list[MetricDelta]

    @property
    def beats_champion(self) -> bool:
        judged = [m.better for m in self.metrics if m.better]
        return bool(judged) and CHAMPION not in judged and CHALLENGER in judged


@dataclass
class ModelComparison:
    model_id: int
    model: str
    registry: str
    project_id: int | None
    champion: Holder | None
    holders: list[Holder] = field(default_factory=list)  # every alias, champion first
    challenges: list[Challenge] = field(default_factory=list)


def _champion(holders: list[Holder]) -> Holder | None:
    by_alias = {h.alias: h for h in holders}
    for alias in settings.KEEL_PRODUCTION_ALIASES:
        if alias in by_alias:
            return by_alias[alias]
    return None


def comparisons(models: QuerySet[RegisteredModel]) -> list[ModelComparison]:
    """Every model among `models` whose versions hold an alias, with its champion and challengers."""
    rows = (
        DeploymentObservation.objects.filter(
            registered_model__in=models, signal=Signal.ALIAS, observed_until__isnull=True
        )
        .select_related("version", "registered_model__registry", "registered_model__project")
        .order_by("registered_model__name", "registered_model_id", "name")
    )
    found: dict[int, ModelComparison] = {}
    tiers: dict[int, str] = {}
    for row in rows:
        model = row.registered_model
        comparison = found.get(model.pk)
        if comparison is None:
            comparison = found[model.pk] = ModelComparison(
                model_id=model.pk, model=model.name, registry=model.registry.name, project_id=model.project_id,
                champion=None,
            )  # fmt: skip
            tiers[model.pk] = model.project.risk_tier if model.project else ""
        comparison.holders.append(Holder(row.name, row.version_id, row.version.version, row.observed_from))
    version_ids = {h.version_id for c in found.values() for h in c.holders}
    metrics: dict[int, dict[tuple[str, str], float | None]] = {}
    for m in VersionMetric.objects.filter(version_id__in=version_ids).only(
        "version_id", "key", "dataset_name", "value"
    ):
        metrics.setdefault(m.version_id, {})[(m.key, m.dataset_name)] = m.value
    directions = directions_by_tier() if found else {}
    for comparison in found.values():
        _compare(comparison, metrics, directions.get(tiers[comparison.model_id], {}))
    return list(found.values())


def directions_by_tier() -> dict[str, dict[str, str]]:
    """{tier: {metric: direction}} from each tier's current policy (its highest version), in one query."""
    current = SignOffPolicy.objects.filter(tier=OuterRef("policy__tier")).order_by("-version").values("version")[:1]
    found: dict[str, dict[str, str]] = {}
    rows = MetricRequirement.objects.filter(policy__version=Subquery(current))
    for tier, metric, direction in rows.values_list("policy__tier", "metric", "direction"):
        found.setdefault(tier, {})[metric] = direction
    return found


def _compare(comparison: ModelComparison, metrics: dict, directions: dict[str, str]) -> None:
    champion = comparison.champion = _champion(comparison.holders)
    if champion is None:
        return
    comparison.holders.sort(key=lambda h: (h.version_id != champion.version_id, h.alias))
    theirs = metrics.get(champion.version_id, {})
    for holder in comparison.holders:
        if holder.version_id == champion.version_id:  # another alias on the champion's version: no challenger
            continue
        mine = metrics.get(holder.version_id, {})
        keys = sorted(set(theirs) | set(mine))
        deltas = [MetricDelta(k, d, theirs.get((k, d)), mine.get((k, d)), directions.get(k, "")) for k, d in keys]
        comparison.challenges.append(Challenge(holder, deltas))


def counts(found: list[ModelComparison]) -> dict[str, int]:
    """For the dashboard: production models (a champion holds a production alias), how many of them have a
    challenger, and how many challengers beat their champion."""
    found = [c for c in found if c.champion is not None]
    return {
        "production_models": len(found),
        "with_challenger": sum(1 for c in found if c.challenges),
        "challengers_beating": sum(1 for c in found for ch in c.challenges if ch.beats_champion),
    }
