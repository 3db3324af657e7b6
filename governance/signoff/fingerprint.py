"""The fingerprint of a sign-off: exactly what the reviewers looked at, so that an approval covers
that and nothing else.

It names the registry, model and version; the version's source URI, run id and digest (where the
registry gives one); the project's tier and the hash of the tier answers it came from; the open
high and critical risks; and the policy version. `changes()` compares a stored fingerprint with the
present state and says, in words, what no longer matches.
"""

from __future__ import annotations

import hashlib
import json

from projects.models import AIProject, ModelVersion

from ..models import Risk, RiskStatus, RiskTierAssessment, SignOffPolicy

# Tags a pipeline may set on a model version to pin the artifact's content hash; SageMaker's
# container image digest is read from the raw package description.
DIGEST_TAGS = ("keel.digest", "digest", "mlflow.digest")
OPEN_RISK_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.ACCEPTED)
SEVERE_LEVELS = ("high", "critical")


def version_digest(version: ModelVersion) -> str:
    for tag in DIGEST_TAGS:
        if (version.tags or {}).get(tag):
            return str(version.tags[tag])
    for container in ((version.raw or {}).get("InferenceSpecification") or {}).get("Containers") or ():
        if isinstance(container, dict) and container.get("ImageDigest"):
            return str(container["ImageDigest"])
    return ""


def version_identity(version: ModelVersion) -> dict:
    model = version.registered_model
    return {
        "registry": model.registry.name,
        "model": model.name,
        "version": version.version,
        "source": version.source,
        "run_id": version.run_id,
        "digest": version_digest(version),
    }


def severe_open_risks(project: AIProject) -> list[dict]:
    rows = (
        Risk.objects.filter(project=project, status__in=OPEN_RISK_STATUSES, residual_level__in=SEVERE_LEVELS)
        .order_by("pk")
        .values("pk", "title", "residual_level")
    )
    return [{"id": r["pk"], "title": r["title"], "residual_level": r["residual_level"]} for r in rows]


def project_state(project: AIProject) -> dict:
    assessment = RiskTierAssessment.objects.filter(project=project).order_by("-version").first()
    return {
        "tier": assessment.tier if assessment else "",
        "tier_assessment_version": assessment.version if assessment else None,
        "tier_answers_hash": assessment.answers_hash if assessment else "",
        "open_high_risks": severe_open_risks(project),
    }


def compute(*, version: ModelVersion, project: AIProject, policy: SignOffPolicy | None) -> dict:
    return {
        **version_identity(version),
        "project": project.slug,
        **project_state(project),
        "policy": {"tier": policy.tier, "version": policy.version} if policy else None,
    }


def digest_of(fingerprint: dict) -> str:
    """SHA-256 of the canonical JSON: the same facts always give the same hash."""
    canonical = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Reason codes, shared by invalidation, the gate and the tests.
DIGEST_CHANGED = "digest_changed"
TIER_CHANGED = "tier_changed"
NEW_HIGH_RISK = "new_high_risk"


def changes(stored: dict, current: dict) -> list[tuple[str, str]]:
    """What no longer matches, as (code, sentence) pairs; empty when the approval still covers now.

    A risk that was closed since does not count (the approval covered a worse state); a new open
    high or critical risk does.
    """
    out: list[tuple[str, str]] = []
    moved = [k for k in ("source", "run_id", "digest") if stored.get(k) != current.get(k)]
    if moved:
        detail = "; ".join(f"{k} {stored.get(k) or '(none)'!r} → {current.get(k) or '(none)'!r}" for k in moved)
        out.append((DIGEST_CHANGED, f"The model version changed in the registry since it was reviewed ({detail})."))
    if stored.get("tier_answers_hash") != current.get("tier_answers_hash") or stored.get("tier") != current.get("tier"):
        out.append(
            (
                TIER_CHANGED,
                f"The EU AI Act tier assessment changed since it was reviewed (tier {stored.get('tier') or 'none'} "
                f"→ {current.get('tier') or 'none'}, assessment v{stored.get('tier_assessment_version')} → "
                f"v{current.get('tier_assessment_version')}).",
            )
        )
    known = {r["id"] for r in stored.get("open_high_risks") or ()}
    new = [r for r in current.get("open_high_risks") or () if r["id"] not in known]
    if new:
        names = ", ".join(f"#{r['id']} {r['title']} ({r['residual_level']})" for r in new)
        out.append((NEW_HIGH_RISK, f"A high or critical risk was opened since it was reviewed: {names}."))
    return out
