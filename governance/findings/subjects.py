"""What a finding is about, as a link a person can follow: one resolver for every page and export.

A finding names its subject by `subject_type` (the model's label, e.g. "governance.risk") and
`subject_id`. `finding_subject()` turns that into the Keel page where the subject is acted on, using
only the finding's own row and its project (which every findings query selects), so a list of 500
findings costs no query per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from ..models import Finding, FindingKind

# The subject type each kind's rule uses (the rules are in governance/risks, signoff, compliance,
# dashboard/value_decay.py and the registry's unowned-model rule). The tests check every kind is here.
KIND_SUBJECT_TYPES: dict[str, str] = {
    FindingKind.RISK_REVIEW_OVERDUE: "governance.risk",
    FindingKind.RISK_ACCEPTANCE_EXPIRED: "governance.risk",
    FindingKind.DEPLOYED_WITHOUT_APPROVAL: "projects.modelversion",
    FindingKind.SIGNOFF_INVALIDATED: "governance.signoffrequest",
    FindingKind.SIGNOFF_EXPIRED: "governance.signoffrequest",
    FindingKind.VALUE_DECAY: "projects.aiproject",
    FindingKind.OBLIGATION_UNMET: "governance.obligation",
    FindingKind.EVIDENCE_STALE: "governance.obligation",
    FindingKind.UNOWNED_PRODUCTION_MODEL: "projects.registeredmodel",
    FindingKind.MODEL_REFERENCE_UNRESOLVED: "governance.dataset",
    # Monitoring findings are about one plan item on one version: subject_id is "<plan item id>:<version id>".
    FindingKind.SIGNAL_BREACHED: "governance.monitoringplanitem",
    FindingKind.SIGNAL_STALE: "governance.monitoringplanitem",
    FindingKind.METRIC_THRESHOLD_BREACHED: "projects.modelversion",
}

# What each kind means, for the findings page's introduction (every kind, in FindingKind's order).
KIND_DESCRIPTIONS: dict[str, str] = {
    FindingKind.RISK_REVIEW_OVERDUE: (
        "A high or critical risk is past its review date. Reviewing, accepting or closing the risk resolves it."
    ),
    FindingKind.DEPLOYED_WITHOUT_APPROVAL: (
        "A model version serves production (alias, stage or approval) with no valid sign-off. An approval, "
        "or the version leaving production, resolves it."
    ),
    FindingKind.SIGNOFF_INVALIDATED: (
        "A sign-off no longer stands because what was reviewed changed (new version, data, risks or tier)."
    ),
    FindingKind.SIGNOFF_EXPIRED: "An approval passed its re-certification date; request sign-off again.",
    FindingKind.VALUE_DECAY: "A project's realised value stays below its plan; it resolves when value recovers.",
    FindingKind.OBLIGATION_UNMET: (
        "A compliance obligation (DPIA, legal basis, documentation, …) has no evidence yet. Adding evidence "
        "resolves it."
    ),
    FindingKind.EVIDENCE_STALE: (
        "The evidence of an obligation was given for facts that have since changed; it needs new evidence."
    ),
    FindingKind.UNOWNED_PRODUCTION_MODEL: (
        "A registry model serves production but is linked to no project, so no one governs it. Link it to a project."
    ),
    FindingKind.RISK_ACCEPTANCE_EXPIRED: (
        "A risk was accepted until a date that has passed. Accept it again with a new expiry, or move it on."
    ),
    FindingKind.MODEL_REFERENCE_UNRESOLVED: (
        "Lineage names a registry model version that Keel has not been able to link for a while (not synced, "
        "several registries match, or its model has no project), so personal data reaching it reaches no "
        "project. A sync bringing the version, or linking the dataset by hand, resolves it."
    ),
    FindingKind.SIGNAL_BREACHED: (
        "A monitoring signal of a model version (drift, data quality, performance, fairness) arrived outside the "
        "bounds of its project's monitoring plan. A later value within bounds resolves it."
    ),
    FindingKind.SIGNAL_STALE: (
        "A monitoring signal the plan expects at a set frequency has not arrived for a version serving "
        "production. The next value resolves it."
    ),
    FindingKind.METRIC_THRESHOLD_BREACHED: (
        "A model version under sign-off logged a metric in the registry that misses a threshold of its tier's "
        "policy (e.g. a new evaluation run). Its sign-off is flagged for re-review and the gate denies it; a "
        "later value that meets the threshold, or a relaxed policy, resolves it."
    ),
}

SUBJECT_LABELS = {
    "governance.risk": "Risk",
    "projects.modelversion": "Model version",
    "governance.signoffrequest": "Sign-off",
    "projects.aiproject": "Project",
    "governance.obligation": "Obligation",
    "governance.dataset": "Dataset",
    "projects.registeredmodel": "Registry model",
    "projects.registry": "Registry",
    "governance.monitoringplanitem": "Monitored signal",
}


@dataclass(frozen=True)
class Subject:
    label: str  # what it is, e.g. "Sign-off #12"
    url: str  # the Keel page where it is acted on; "" when there is none


def _reverse_first(*candidates: tuple[str, dict]) -> str:
    """The first route that exists: a page another part of Keel may add (a registry's own page) is
    preferred, its list is the fallback."""
    for name, kwargs in candidates:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return ""


def finding_subject(finding: Finding) -> Subject:
    """The link to what `finding` is about. Reads finding.project (select it with the finding), nothing else."""
    kind, pk = finding.subject_type, finding.subject_id
    name = SUBJECT_LABELS.get(kind, kind)
    slug = finding.project.slug if finding.project_id and finding.project else None
    if kind == "governance.risk":
        return Subject(f"{name} #{pk}", reverse("governance:risk", kwargs={"pk": pk}))
    if kind == "governance.signoffrequest":
        return Subject(f"{name} #{pk}", reverse("governance:signoff", kwargs={"pk": pk}))
    if kind == "governance.dataset":
        return Subject(f"{name} #{pk}", reverse("governance:dataset", kwargs={"pk": pk}))
    if kind == "governance.obligation" and slug:
        url = reverse("governance:project-compliance", kwargs={"slug": slug})
        return Subject(f"{name} #{pk}", f"{url}#obligations-h")
    if kind == "governance.monitoringplanitem" and slug:
        # The project's monitoring page draws the signal over time with its bounds.
        return Subject(f"{name} #{pk.split(':')[0]}", reverse("governance:project-monitoring", kwargs={"slug": slug}))
    if kind == "projects.modelversion" and slug:
        # The project page lists each linked model's versions and which holds what alias now.
        return Subject(f"{name} #{pk}", reverse("projects:detail", kwargs={"slug": slug}) + "#models")
    if kind == "projects.aiproject" and slug:
        return Subject(finding.project.name, reverse("projects:roi", kwargs={"slug": slug}))
    if kind in ("projects.registeredmodel", "projects.registry"):
        url = _reverse_first(("projects:registry-model", {"pk": pk}), ("projects:registries", {}))
        return Subject(f"{name} #{pk}", url)
    return Subject(f"{name} #{pk}", "")
