"""What a reviewer weighs beside the fingerprint: warnings about the project's open problems, the
version's run and metrics, and the version now in production to compare it with (champion vs
challenger). Each part reads in a fixed number of queries, however many risks or metrics there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from projects.models import DeploymentObservation, ModelVersion
from projects.registries.links import run_url, version_url

from ..models import Finding, RiskStatus
from .deployments import production_signal_q

SEVERE = ("high", "critical")
OVERDUE_REVIEWS = "{n} risk review{s} of this project {are} overdue."
OPEN_SEVERE_FINDINGS = "{n} high or critical finding{s} of this project {are} open."
UNMET_OBLIGATIONS = "{n} compliance obligation{s} of this project {are} unmet or {have} stale evidence."
AUTHOR_UNKNOWN = (
    "The registry names nobody as this version's author (neither the version nor its run), so nobody can be "
    "excluded as its author: this request needs one more distinct approver than its policy asks."
)


@dataclass(frozen=True)
class SignOffWarning:
    text: str
    url: str
    link_text: str


def _plural(template: str, n: int) -> str:
    return template.format(
        n=n, s="" if n == 1 else "s", are="is" if n == 1 else "are", have="has" if n == 1 else "have"
    )


def signoff_warnings(*, project, risks: list, coverage: dict) -> list[SignOffWarning]:
    """Open problems of the project a reviewer must see before deciding, each linking to its list.

    `risks` is the register already read for the page (overdue reviews are counted from it) and
    `coverage` the compliance coverage already computed; the findings take one query."""
    warnings: list[SignOffWarning] = []
    overdue = sum(1 for r in risks if r.review_overdue and r.status != RiskStatus.CLOSED)
    if overdue:
        url = reverse("governance:project-risks", args=[project.slug]) + "?overdue=true"
        warnings.append(SignOffWarning(_plural(OVERDUE_REVIEWS, overdue), url, "Overdue reviews"))
    severe = Finding.objects.filter(project=project, resolved_at__isnull=True, severity__in=SEVERE).count()
    if severe:
        query = urlencode([("project", project.slug), ("open", "true"), *(("severity", s) for s in SEVERE)])
        url = f"{reverse('governance:findings')}?{query}"
        warnings.append(SignOffWarning(_plural(OPEN_SEVERE_FINDINGS, severe), url, "Open findings"))
    unmet = (coverage.get("unmet") or 0) + (coverage.get("stale") or 0)
    if unmet:
        url = reverse("governance:project-compliance", args=[project.slug])
        warnings.append(SignOffWarning(_plural(UNMET_OBLIGATIONS, unmet), url, "Obligations"))
    return warnings


def metrics_of(version: ModelVersion) -> dict[str, dict]:
    """The version's metrics by name ({"value", "timestamp", "step"}): its run's (stored by the sync),
    and any a pipeline put in the registry's record itself (a `metrics` object, `metric.<name>` tags)."""
    found: dict[str, dict] = {}
    raw = (version.raw or {}).get("metrics")
    if isinstance(raw, dict):
        found.update({str(k): {"value": v} for k, v in raw.items()})
    elif isinstance(raw, list):
        found.update({str(m["key"]): {"value": m.get("value")} for m in raw if isinstance(m, dict) and "key" in m})
    for key, value in (version.tags or {}).items():
        prefix, _, name = key.partition(".")
        if prefix in ("metric", "metrics") and name:
            found[name] = {"value": value}
    for name, metric in (version.metrics or {}).items():
        found[str(name)] = metric if isinstance(metric, dict) else {"value": metric}
    return dict(sorted(found.items()))


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: object  # this version's value; None: it has no such metric
    timestamp: str
    other: object = None  # the compared version's value
    difference: float | None = None  # value - other, when both are numbers


def metric_rows(mine: dict[str, dict], theirs: dict[str, dict] | None) -> list[MetricRow]:
    """One row per metric either version has, with the difference where both are numbers."""
    rows = []
    for name in sorted(set(mine) | set(theirs or {})):
        value = (mine.get(name) or {}).get("value")
        other = ((theirs or {}).get(name) or {}).get("value")
        a, b = _number(value), _number(other)
        rows.append(
            MetricRow(
                name=name,
                value=value,
                timestamp=str((mine.get(name) or {}).get("timestamp") or ""),
                other=other,
                difference=round(a - b, 6) if a is not None and b is not None else None,
            )
        )
    return rows


def incumbent_of(version: ModelVersion) -> DeploymentObservation | None:
    """The version the requested one would replace: another version of the same registered model that
    holds a production signal now (a production alias first, in KEEL_PRODUCTION_ALIASES order, then a
    Production stage or an Approved status), with its version; None when none does. One query."""
    rows = list(
        DeploymentObservation.objects.filter(production_signal_q(), registered_model_id=version.registered_model_id)
        .exclude(version_id=version.pk)
        .select_related("version__registered_model__registry")
        .order_by("observed_from", "id")
    )
    aliases = list(settings.KEEL_PRODUCTION_ALIASES)

    def rank(row: DeploymentObservation) -> tuple[int, int]:
        return (0, aliases.index(row.name)) if row.name in aliases else (1, 0)

    return min(rows, key=rank) if rows else None


def version_evidence(version: ModelVersion) -> dict:
    """The version's run and metrics, compared with the version in production now."""
    incumbent = incumbent_of(version)
    other = incumbent.version if incumbent else None
    mine = metrics_of(version)
    return {
        "version_url": version_url(version),
        "run_url": run_url(version),
        "incumbent": incumbent,
        "incumbent_version": other,
        "incumbent_version_url": version_url(other) if other else "",
        "incumbent_run_url": run_url(other) if other else "",
        "metric_rows": metric_rows(mine, metrics_of(other) if other else None),
        "author_unknown_note": AUTHOR_UNKNOWN,
    }
