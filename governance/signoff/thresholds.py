"""Metric requirements of sign-off policies: does a version meet "auc ≥ 0.75"?

The requirements that apply are those of the *current* policy of the project's tier, not the version a
request was made under: a threshold is a quality bar, so publishing a stricter one re-evaluates every open
request (policy_thresholds_reevaluate). Each requirement is met, not met, or unknown; unknown (the registry
gave no value) counts as not met everywhere — the gate never passes on a missing metric.

Without a dataset, a requirement holds only if every stored value of the metric (one per evaluation
dataset) meets it: the worst dataset decides. With a dataset, only the value measured on it counts.

A version under a live sign-off (pending or approved) that misses a requirement has its request flagged
for re-review; a measured value that breaches one also opens a METRIC_THRESHOLD_BREACHED finding, which
resolves itself when a later value meets the bar again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from projects.models import ModelVersion, VersionMetric

from ..findings.services import finding_close
from ..models import (
    Finding,
    FindingKind,
    MetricDirection,
    MetricRequirement,
    Severity,
    SignOffPolicy,
    SignOffRequest,
    SignOffStatus,
)
from .deployments import finding_open_once

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
STATUS_LABELS = {MET: "Met", NOT_MET: "Not met", UNKNOWN: "Unknown (treated as not met)"}
LIVE_STATUSES = (SignOffStatus.PENDING, SignOffStatus.APPROVED)


@dataclass(frozen=True)
class RequirementResult:
    requirement: MetricRequirement
    status: str
    value: float | None = None
    dataset_name: str = ""  # the dataset whose value decided

    @property
    def met(self) -> bool:
        return self.status == MET

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def message(self) -> str:
        req = self.requirement
        on = f" on {self.dataset_name}" if self.dataset_name else ""
        if self.status == UNKNOWN:
            return f"{req.metric} is unknown: the registry gave no value, so {req} is not met."
        verb = "meets" if self.met else "does not meet"
        return f"{req.metric}{on} is {self.value:g}, which {verb} {req} (policy v{req.policy.version})."


REQUIREMENTS_TOO_MANY = "A policy holds at most {limit} metric requirements."
REQUIREMENT_METRIC = "Name the metric (at most 250 characters)."
REQUIREMENT_DIRECTION = "Say whether higher or lower is better: direction is 'higher' (≥) or 'lower' (≤)."
REQUIREMENT_THRESHOLD = "The threshold must be a finite number."
REQUIREMENT_TWICE = "{metric} is required twice on the same dataset; name each once."
REQUIREMENT_LINE = "Line {n}: write a requirement as 'auc >= 0.75' or 'auc >= 0.75 on holdout'."
MAX_REQUIREMENTS = 50
LINE = re.compile(r"^\s*(?P<metric>\S+)\s*(?P<op>>=|<=|≥|≤)\s*(?P<threshold>\S+)(?:\s+on\s+(?P<dataset>.+?))?\s*$")


def requirements_clean(items: list[dict]) -> list[dict]:
    """Validated requirements ({metric, direction, threshold, dataset_name}) or a ValidationError naming
    what is wrong: the API's and the form's one check."""
    if len(items) > MAX_REQUIREMENTS:
        raise ValidationError({"metric_requirements": [REQUIREMENTS_TOO_MANY.format(limit=MAX_REQUIREMENTS)]})
    clean, seen = [], set()
    for item in items:
        metric = str(item.get("metric") or "").strip()
        dataset = str(item.get("dataset_name") or "").strip()
        if not metric or len(metric) > 250 or len(dataset) > 250:
            raise ValidationError({"metric_requirements": [REQUIREMENT_METRIC]})
        if item.get("direction") not in MetricDirection.values:
            raise ValidationError({"metric_requirements": [REQUIREMENT_DIRECTION]})
        try:
            threshold = float(item.get("threshold"))
        except (TypeError, ValueError):
            threshold = math.nan
        if isinstance(item.get("threshold"), bool) or not math.isfinite(threshold):
            raise ValidationError({"metric_requirements": [REQUIREMENT_THRESHOLD]})
        if (metric, dataset) in seen:
            raise ValidationError({"metric_requirements": [REQUIREMENT_TWICE.format(metric=metric)]})
        seen.add((metric, dataset))
        clean.append(
            {"metric": metric, "direction": item["direction"], "threshold": threshold, "dataset_name": dataset}
        )
    return clean


def requirements_parse(text: str) -> list[dict]:
    """The form's textarea, one requirement a line ("auc >= 0.75", "log_loss <= 0.3 on holdout")."""
    items = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            raise ValidationError({"metric_requirements": [REQUIREMENT_LINE.format(n=n)]})
        higher = match["op"] in (">=", "≥")
        direction = MetricDirection.HIGHER if higher else MetricDirection.LOWER
        items.append(
            {"metric": match["metric"], "direction": direction, "threshold": match["threshold"],
             "dataset_name": match["dataset"] or ""}
        )  # fmt: skip
    return requirements_clean(items)


def requirements_text(requirements) -> str:
    return "\n".join(
        f"{r.metric} {'>=' if r.direction == MetricDirection.HIGHER else '<='} {r.threshold:g}"
        + (f" on {r.dataset_name}" if r.dataset_name else "")
        for r in requirements
    )


def passes(value: float, direction: str, threshold: float) -> bool:
    return value >= threshold if direction == MetricDirection.HIGHER else value <= threshold


def better(a: float, b: float, direction: str) -> bool:
    """Is `a` strictly better than `b` for a metric with this direction?"""
    return a > b if direction == MetricDirection.HIGHER else a < b


def policy_for_tier(tier: str) -> SignOffPolicy | None:
    return SignOffPolicy.objects.filter(tier=tier).order_by("-version").first() if tier else None


def requirements_for_tier(tier: str) -> list[MetricRequirement]:
    policy = policy_for_tier(tier)
    return list(policy.metric_requirements.select_related("policy")) if policy else []


def evaluate(requirements: list[MetricRequirement], metrics: list[VersionMetric]) -> list[RequirementResult]:
    """Each requirement against a version's metric rows (pure: no query)."""
    results = []
    for req in requirements:
        rows = [
            m for m in metrics if m.key == req.metric and (not req.dataset_name or m.dataset_name == req.dataset_name)
        ]
        values = [m for m in rows if m.value is not None]
        if not values or len(values) < len(rows):
            results.append(RequirementResult(req, UNKNOWN))
            continue
        failing = [m for m in values if not passes(m.value, req.direction, req.threshold)]
        decisive = failing[0] if failing else values[0]
        if not failing and len(values) > 1:  # the worst value, for the page
            decisive = min(values, key=lambda m: m.value if req.direction == MetricDirection.HIGHER else -m.value)
        results.append(RequirementResult(req, NOT_MET if failing else MET, decisive.value, decisive.dataset_name))
    return results


def version_results(version: ModelVersion, tier: str) -> list[RequirementResult]:
    return evaluate(requirements_for_tier(tier), list(version.metric_values.all()))


def _flag_text(results: list[RequirementResult]) -> str:
    return " ".join(r.message for r in results if not r.met)


@transaction.atomic
def versions_thresholds_check(*, version_ids: list[int]) -> int:
    """Re-check the versions' live sign-offs against their tier's requirements: flag or clear each request,
    open or resolve the breach finding. Returns how many requests changed."""
    live = list(
        SignOffRequest.objects.select_for_update(of=("self",))
        .filter(model_version_id__in=version_ids, status__in=LIVE_STATUSES)
        .select_related("project", "model_version__registered_model")
        .order_by("pk")
    )
    if not live:
        return 0
    requirements_by_tier: dict[str, list[MetricRequirement]] = {}
    metrics: dict[int, list[VersionMetric]] = {}
    for row in VersionMetric.objects.filter(version_id__in={r.model_version_id for r in live}):
        metrics.setdefault(row.version_id, []).append(row)
    changed = 0
    for request in live:
        tier = request.project.risk_tier or ""
        if tier not in requirements_by_tier:
            requirements_by_tier[tier] = requirements_for_tier(tier)
        results = evaluate(requirements_by_tier[tier], metrics.get(request.model_version_id, []))
        changed += _flag(request, results)
        _breach_finding(request, results)
    return changed


def _flag(request: SignOffRequest, results: list[RequirementResult]) -> bool:
    text = _flag_text(results)
    if text == request.metrics_flag:
        return False
    before = {"metrics_flag": request.metrics_flag}
    request.metrics_flag = text
    request.metrics_flagged_at = timezone.now() if text else None
    request.save(update_fields=["metrics_flag", "metrics_flagged_at"])
    audit.record(
        actor=None, action="signoff.metrics_flagged" if text else "signoff.metrics_cleared", obj=request,
        before=before, after={"metrics_flag": text},
    )  # fmt: skip
    return True


def _breach_finding(request: SignOffRequest, results: list[RequirementResult]) -> None:
    version = request.model_version
    breached = [r for r in results if r.status == NOT_MET]
    if breached:
        model = version.registered_model
        finding_open_once(
            kind=FindingKind.METRIC_THRESHOLD_BREACHED,
            severity=Severity.HIGH,
            title=f"{model.name} v{version.version} breaches {breached[0].requirement} ({request.project.name})",
            detail=" ".join(r.message for r in breached) + f" Sign-off #{request.pk} is flagged for re-review.",
            subject=version,
            project=request.project,
            assignee=request.project.owner,
        )
        return
    for finding in Finding.objects.select_for_update().filter(
        kind=FindingKind.METRIC_THRESHOLD_BREACHED, subject_type="projects.modelversion",
        subject_id=str(version.pk), resolved_at=None,
    ):  # fmt: skip
        finding_close(finding, "The version's metrics meet the policy's requirements again.")


def policy_thresholds_reevaluate(*, tier: str) -> int:
    """A policy with new requirements was published: re-check the open requests of the tier's projects."""
    version_ids = list(
        SignOffRequest.objects.filter(status__in=LIVE_STATUSES, project__risk_tier=tier).values_list(
            "model_version_id", flat=True
        )
    )
    return versions_thresholds_check(version_ids=version_ids) if version_ids else 0
