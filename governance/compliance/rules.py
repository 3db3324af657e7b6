"""The compliance obligation rules, in one place: each has an id, a plain-language description,
when it applies (from the project's tier and the PII that reaches its models), which facts it
stands on, and how it is met.

Two ways to be met:

* a *record* rule is met when the records it asks for exist on every dataset concerned (a legal
  basis, an Art. 9(2) condition, a retention period — set on the dataset page); evidence may be
  attached but is not required;
* an *evidence* rule is met by evidence (a link or a file) given against the facts as they are
  now. Evidence given against other facts is stale: a DPIA written before health data reached the
  model does not cover it.

Pure: facts in (selectors.project_facts), results out; services.obligations_evaluate writes them.
Thresholds and wording are for the DPO to review (lineage.md §4.6); changing a rule's facts makes
evidence given against the old facts stale, which is the intended, conservative effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from projects.models import RiskTier

RECORD, EVIDENCE = "record", "evidence"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    basis: str  # the article it comes from
    kind: str  # RECORD | EVIDENCE
    severity: str  # of the finding an unmet obligation opens
    applies: Callable[[dict], bool]
    facts: Callable[[dict], dict]
    # RECORD rules: the datasets still missing their record (empty = met).
    missing: Callable[[dict], list[str]] | None = None


def _personal(f: dict) -> bool:
    return bool(f["personal_kinds"])


def _special(f: dict) -> bool:
    return bool(f["special_kinds"])


def _criminal(f: dict) -> bool:
    return bool(f["criminal_kinds"])


def _high(f: dict) -> bool:
    return f["tier"] == RiskTier.HIGH


def _kinds(f: dict) -> dict:
    return {k: f[k] for k in ("personal_kinds", "special_kinds", "criminal_kinds")}


def _datasets(f: dict, *keys: str, only_special: bool = False) -> list[dict]:
    rows = [d for d in f["datasets"] if d["special"] or not only_special]
    return [{"name": d["name"], **{k: d[k] for k in keys}} for d in rows]


def _recorded_on_every_dataset(field: str) -> dict:
    """A RECORD rule's facts and missing items when each personal-data dataset must carry `field`."""
    return {
        "facts": lambda f: {"datasets": _datasets(f, field)},
        "missing": lambda f: [d["name"] for d in f["datasets"] if not d[field]],
    }


RULES: tuple[Rule, ...] = (
    Rule(
        id="GDPR-6-BASIS",
        title="Legal basis recorded",
        description="Personal data reaches the project's models: every dataset carrying it upstream of them "
        "needs its GDPR Art. 6(1) legal basis recorded.",
        basis="GDPR Art. 6(1)",
        kind=RECORD,
        severity="high",
        applies=_personal,
        **_recorded_on_every_dataset("legal_basis"),
    ),
    Rule(
        id="GDPR-9-CONDITION",
        title="Art. 9(2) condition recorded",
        description="Special-category data (health, biometric, genetic, ethnic origin, …) reaches the project's "
        "models: every dataset carrying it needs the Art. 9(2) condition that lifts the ban on processing it.",
        basis="GDPR Art. 9(2)",
        kind=RECORD,
        severity="high",
        applies=_special,
        facts=lambda f: {
            "special_kinds": f["special_kinds"],
            "datasets": _datasets(f, "art9_condition", only_special=True),
        },
        missing=lambda f: [d["name"] for d in f["datasets"] if d["special"] and not d["art9_condition"]],
    ),
    Rule(
        id="GDPR-35-DPIA",
        title="Data protection impact assessment",
        description="Special-category or criminal-offence data reaches the project's models, or a high-risk AI "
        "system processes personal data: a DPIA must cover the data that reaches the models now.",
        basis="GDPR Art. 35(1), 35(3)(b); AI Act Art. 26(9)",
        kind=EVIDENCE,
        severity="high",
        applies=lambda f: _special(f) or _criminal(f) or (_high(f) and _personal(f)),
        facts=lambda f: {"tier": f["tier"], **_kinds(f)},
    ),
    Rule(
        id="GDPR-10-CRIMINAL",
        title="Art. 10 authorisation for criminal-offence data",
        description="Criminal-offence data reaches the project's models: show the Union or Member State law "
        "(or official authority) that authorises processing it.",
        basis="GDPR Art. 10",
        kind=EVIDENCE,
        severity="high",
        applies=_criminal,
        facts=lambda f: {"criminal_kinds": f["criminal_kinds"], "datasets": _datasets(f)},
    ),
    Rule(
        id="GDPR-5-RETENTION",
        title="Retention period recorded",
        description="Personal data reaches the project's models: every dataset carrying it needs a retention "
        "period (storage limitation).",
        basis="GDPR Art. 5(1)(e)",
        kind=RECORD,
        severity="medium",
        applies=_personal,
        **_recorded_on_every_dataset("retention_days"),
    ),
    Rule(
        id="AIA-10-DATA-GOVERNANCE",
        title="Data governance of training data",
        description="High-risk AI system: document the origin, preparation, assumptions, suitability and bias "
        "examination of the training, validation and test data.",
        basis="AI Act Art. 10(2)-(5)",
        kind=EVIDENCE,
        severity="high",
        applies=_high,
        facts=lambda f: {"tier": f["tier"], "training_datasets": f["training_datasets"], **_kinds(f)},
    ),
    Rule(
        id="AIA-11-TECHNICAL-DOCUMENTATION",
        title="Technical documentation",
        description="High-risk AI system: technical documentation as Annex IV sets out, for the model versions in use.",
        basis="AI Act Art. 11, Annex IV",
        kind=EVIDENCE,
        severity="high",
        applies=_high,
        facts=lambda f: {"tier": f["tier"], "model_versions": f["model_versions"]},
    ),
    Rule(
        id="AIA-14-HUMAN-OVERSIGHT",
        title="Human oversight",
        description="High-risk AI system: show how people oversee it, understand its output and can override "
        "or stop it.",
        basis="AI Act Art. 14",
        kind=EVIDENCE,
        severity="high",
        applies=_high,
        facts=lambda f: {"tier": f["tier"]},
    ),
    Rule(
        id="AIA-12-LOGGING",
        title="Record-keeping (logging)",
        description="High-risk AI system: it must log events automatically over its lifetime, so that its "
        "working can be traced.",
        basis="AI Act Art. 12",
        kind=EVIDENCE,
        severity="medium",
        applies=_high,
        facts=lambda f: {"tier": f["tier"]},
    ),
)
RULES_BY_ID = {r.id: r for r in RULES}


def digest(facts: dict) -> str:
    """SHA-256 of the canonical JSON: the same facts always give the same hash."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    rule: Rule
    applies: bool
    facts: dict
    facts_hash: str
    missing: tuple[str, ...] = ()


def evaluate(facts: dict) -> list[Result]:
    """Every rule against one project's facts (see selectors.project_facts for their shape)."""
    out = []
    for rule in RULES:
        applies = bool(rule.applies(facts))
        own = {"rule": rule.id, **rule.facts(facts)} if applies else {"rule": rule.id}
        missing = tuple(rule.missing(facts)) if (applies and rule.missing) else ()
        out.append(Result(rule, applies, own, digest(own), missing))
    return out


def status_of(result: Result, evidence_hashes: list[str]) -> tuple[str, str]:
    """(status, why) for one rule's result and the facts hashes of the evidence given for it."""
    rule = result.rule
    if not result.applies:
        return "not_applicable", "The facts no longer call for it."
    if rule.kind == RECORD:
        if result.missing:
            names = ", ".join(result.missing[:10]) + (
                f" and {len(result.missing) - 10} more" if len(result.missing) > 10 else ""
            )
            return "unmet", f"Missing on: {names}."
        return "met", "Recorded on every dataset concerned."
    if result.facts_hash in evidence_hashes:
        return "met", "Evidence given against the current facts."
    if evidence_hashes:
        return "stale", "The facts changed since the evidence was given; give it again for the current facts."
    return "unmet", "No evidence yet."
