"""The EU AI Act risk-tier questionnaire and its decision rules. Pure functions: no ORM, no request.

Questions and rules follow shared/reference/regulation.md §11–12 (Regulation (EU) 2024/1689 with
the 2026/1744 amendments): Art. 5 prohibited practices, Art. 6(1) + Annex I product route, Art. 6(2)
+ Annex III use cases with the Art. 6(3) derogation and its profiling override, Art. 50 transparency
duties, and the model-level GPAI flags. Rules run in order; the first match sets the tier; flags
accumulate; every step that mattered adds a sentence to the explanation.

Nothing is taken as answered: every question the answers make relevant (tier_questions.visible_questions)
must be answered, or the assessment is refused question by question. Questions the answers make
irrelevant are not asked and not stored; the rules read them as their neutral answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from .tier_questions import (  # noqa: F401 -- re-exported: the questionnaire's one import
    ANNEX_I_ITEMS,
    ANNEX_III,
    ASKED_WHEN,
    FLAG_MEANINGS,
    QUESTIONS,
    QUESTIONS_BY_ID,
    SECTIONS,
    Question,
    flag_meaning,
    visible_questions,
)

PROHIBITED, HIGH, LIMITED, MINIMAL = "prohibited", "high", "limited", "minimal"
UNKNOWN_QUESTION = "Unknown question {id!r}."
UNANSWERED = "Not answered yet: choose an answer (nothing is taken as 'no')."
BAD_ANSWER = "{value!r} is not an answer to {id}; choose one of: {choices}."
CARVE_OUT_ELSEWHERE = "{value!r} is a carve-out of Annex III {point} only; answer D1 = {point}, or D2 = none."

# Each Annex III carve-out belongs to one sub-point (regulation.md §4): fraud detection does not take
# a recruitment tool out of 4(a), so a carve-out answered for another point is refused, not applied.
CARVE_OUTS = {
    "biometric_verification": "1a",
    "fraud_detection": "5b",
    "travel_documents": "7d",
    "campaign_logistics": "8b",
}
# The 2026/1744 ban on non-consensual intimate content and CSAM applies from this date; before it,
# the other rules set the tier and a flag says what is coming (regulation.md §12 rule 2).
NCII_CSAM_BAN_FROM = dt.date(2026, 12, 2)

PROHIBITED_PRACTICES = {
    "B1": "Art. 5(1)(a): subliminal, manipulative or deceptive techniques causing significant harm",
    "B2": "Art. 5(1)(b): exploitation of vulnerabilities due to age, disability or social or economic situation",
    "B3": "Art. 5(1)(c): social scoring leading to unrelated or disproportionate detrimental treatment",
    "B4": "Art. 5(1)(d): predicting criminal offending solely from profiling or personality traits",
    "B5": "Art. 5(1)(e): untargeted scraping of facial images to build a recognition database",
}
TRANSPARENCY_FLAGS = {
    "E1": ("ART50_1", "Art. 50(1): people must be told they are interacting with an AI system"),
    "E2": ("ART50_2", "Art. 50(2): synthetic outputs must be marked as AI-generated, machine-readably"),
    "E3": ("ART50_3", "Art. 50(3): people exposed to emotion recognition or biometric categorisation must be told"),
    "E5": ("ART50_4_TEXT", "Art. 50(4): AI-generated text on matters of public interest must be disclosed"),
}


class AnswerError(ValueError):
    """The answers do not fit the questionnaire; `errors` maps question id → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class TierResult:
    tier: str
    route: str = ""
    flags: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)


def normalise(answers: dict) -> dict[str, str]:
    """The answers to the questions they make relevant (blank = unanswered, answers to questions not
    asked are dropped), or AnswerError naming each bad answer. Unanswered questions stay unanswered."""
    if not isinstance(answers, dict):
        raise AnswerError({"answers": "Send the answers as an object of question id → answer."})
    errors = {}
    given = {}
    for key, value in answers.items():
        question = QUESTIONS_BY_ID.get(key)
        if question is None:
            errors[key] = UNKNOWN_QUESTION.format(id=key)
        elif value in ("", None):
            continue
        elif not isinstance(value, str) or value not in {c for c, _ in question.choices}:
            errors[key] = BAD_ANSWER.format(value=value, id=key, choices=", ".join(c for c, _ in question.choices))
        else:
            given[key] = value
    if errors:
        raise AnswerError(errors)
    # A carve-out of another Annex III point is refused rather than dropped as not asked: whoever gave
    # it believes it applies.
    carve_out = given.get("D2", "none")
    if carve_out != "none" and CARVE_OUTS[carve_out] != given.get("D1"):
        raise AnswerError({"D2": CARVE_OUT_ELSEWHERE.format(value=carve_out, point=_point(CARVE_OUTS[carve_out]))})
    return {q.id: given[q.id] for q in visible_questions(given) if q.id in given}


def unanswered(answers: dict) -> list[str]:
    """The relevant questions still without an answer, in order (normalised answers)."""
    return [q.id for q in visible_questions(answers) if q.id not in answers]


def is_complete(answers: dict) -> bool:
    return not unanswered(answers)


def _point(code: str) -> str:
    """An Annex III choice ("5b") as the Act writes it ("5(b)")."""
    return f"{code[0]}({code[1]})"


def answers_hash(answers: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _label(question_id: str, value: str) -> str:
    return dict(QUESTIONS_BY_ID[question_id].choices)[value]


def assess(raw_answers: dict, *, on: dt.date | None = None) -> TierResult:
    """Apply the decision rules (regulation.md §12) in order and explain the outcome.

    Refuses (AnswerError, one message per question) while a relevant question is unanswered: an
    incomplete questionnaire has no tier. `on` is the day of the assessment (default today): rules
    that start on a later date are flagged until then instead of setting the tier.
    """
    answers = normalise(raw_answers)
    missing = unanswered(answers)
    if missing:
        raise AnswerError(dict.fromkeys(missing, UNANSWERED))
    full = {q.id: answers.get(q.id, q.neutral) for q in QUESTIONS}
    return _decide(full, on=on or dt.date.today())  # noqa: DTZ011 -- a calendar day; the service passes its own


def _decide(a: dict[str, str], *, on: dt.date) -> TierResult:
    """The rules in the order the Act applies them; each step adds its flags and sentences to the result,
    and the first two (out of scope, prohibited) end the assessment when they apply."""
    result = TierResult(tier="")
    if not _out_of_scope(a, result) and not _prohibited(a, result, on=on):
        _rbi_under_exception(a, result)
        _product_route(a, result)
        _annex_iii_use_case(a, result)
        _high_risk_duties(a, result)
        _transparency_duties(a, result)
        _minimal_otherwise(result)
    _gpai(a, result)
    return result


def _out_of_scope(a: dict[str, str], result: TierResult) -> bool:
    """1. Scope: not an AI system, not in the EU, or excluded by Art. 2 → minimal, and nothing else applies."""
    why = result.explanation
    if a["A1"] == "no" or a["A3"] == "no" or a["A4"] != "none":
        reason = (
            "it is not an AI system under Art. 3(1)" if a["A1"] == "no"
            else "it is not placed on the market or used in the EU (Art. 2(1))" if a["A3"] == "no"
            else f"an exclusion applies: {_label('A4', a['A4'])} (Art. 2)"
        )  # fmt: skip
        result.tier, result.route = MINIMAL, "out of scope"
        result.flags.append("OUT_OF_SCOPE")
        why.append(f"Outside the AI Act because {reason}; recorded as minimal risk.")
        return True
    return False


def _prohibited(a: dict[str, str], result: TierResult, *, on: dt.date) -> bool:
    """2. Art. 5 prohibited practices (the 2026/1744 ban from its date) → prohibited, and nothing else applies;
    before that date the ban is a flag, so the day it applies re-assesses the project."""
    why = result.explanation
    hits = [text for qid, text in PROHIBITED_PRACTICES.items() if a[qid] == "yes"]
    if a["B6"] == "other":
        hits.append(
            "Art. 5(1)(f): inferring emotions at the workplace or in education, not for medical or safety reasons"
        )
    if a["B7"] == "other":
        hits.append("Art. 5(1)(g): biometric categorisation inferring sensitive attributes")
    if a["B8"] == "other":
        hits.append(
            "Art. 5(1)(h): real-time remote biometric identification for law enforcement outside the exceptions"
        )
    ncii_csam = "Art. 5 as amended by 2026/1744: non-consensual intimate content or child sexual abuse material"
    if a["B9"] == "yes" and on >= NCII_CSAM_BAN_FROM:
        hits.append(f"{ncii_csam} (applies from 2 Dec 2026)")
    if hits:
        result.tier, result.route = PROHIBITED, hits[0].split(":")[0]
        why.extend(f"Prohibited practice — {hit}." for hit in hits)
        why.append("A prohibited system may not be placed on the market, put into service or used; there is no "
                   "compliance path.")  # fmt: skip
        return True
    if a["B9"] == "yes":
        result.flags.append("PROHIBITED_FROM_2026_12_02")
        why.append(f"Prohibited from 2 Dec 2026 — {ncii_csam}; until then the other rules set the tier, and it must "
                   "be re-assessed on that day.")  # fmt: skip
    if a["B6"] == "medical_safety":
        why.append("Emotion inference at work or in education for medical or safety reasons is not prohibited "
                   "(Art. 5(1)(f) exception).")  # fmt: skip
    if a["B7"] == "lawful_labelling":
        why.append("Biometric categorisation only to label or filter lawfully acquired datasets, or for law "
                   "enforcement, is not prohibited (Art. 5(1)(g) exception).")  # fmt: skip
    return False


def _rbi_under_exception(a: dict[str, str], result: TierResult) -> None:
    """3. Real-time RBI for law enforcement under the Art. 5(1)(h) exceptions is high risk (Annex III 1(a))."""
    why = result.explanation
    if a["B8"] == "exception":
        result.tier, result.route = HIGH, "Annex III 1(a)"
        result.flags.append("RBI_LE_CONDITIONS")
        why.append("High risk: real-time remote biometric identification for law enforcement under an Art. 5(1)(h) "
                   "exception is an Annex III 1(a) system, bound by Art. 5(2)-(7).")  # fmt: skip


def _product_route(a: dict[str, str], result: TierResult) -> None:
    """4. Art. 6(1) product route: an Annex I product or safety component with third-party conformity assessment."""
    why = result.explanation
    if a["C1"] != "none" and a["C2"] == "yes":
        item = int(a["C1"])
        named = f"{item} ({_label('C1', a['C1']).split('. ', 1)[1]})"
        if not result.tier:
            result.tier, result.route = HIGH, f"Art. 6(1), Annex I item {item}"
            why.append(f"High risk: a product or safety component under Annex I item {named} that needs third-party "
                       "conformity assessment (Art. 6(1)); applies from 2 Aug 2028.")  # fmt: skip
        else:
            why.append(f"Also high risk by Art. 6(1): a product or safety component under Annex I item {named} that "
                       "needs third-party conformity assessment.")  # fmt: skip
        if item >= 13:
            result.flags.append("SECTION_B")
            why.append("Annex I Section B: only Art. 6(1), 102-109 and 112 apply (Art. 2(2)).")
    elif a["C1"] != "none":
        named = f"{a['C1']} ({_label('C1', a['C1']).split('. ', 1)[1]})"
        why.append(f"Annex I item {named} without third-party conformity assessment: not high risk "
                   "by Art. 6(1).")  # fmt: skip


def _annex_iii_use_case(a: dict[str, str], result: TierResult) -> None:
    """5. Art. 6(2) Annex III use cases, unless a carve-out or the Art. 6(3) derogation (never for
    profiling) applies."""
    why = result.explanation
    if not result.tier and a["D1"] != "none":
        use_case = _label("D1", a["D1"])
        if a["D2"] != "none":  # normalise() accepted it, so it is this point's own carve-out
            why.append(f'Annex III {use_case}, but the carve-out "{_label("D2", a["D2"])}" applies: not high risk.')
        elif a["D3"] == "yes" or a["D1"] == "6e":
            # 6(e) is itself profiling of natural persons, whatever D3 says.
            profiling = "it profiles natural persons" if a["D3"] == "yes" else "6(e) is profiling of natural persons"
            result.tier, result.route = HIGH, f"Annex III {_point(a['D1'])}"
            why.append(f"High risk: Annex III {use_case}, and {profiling}, so the Art. 6(3) derogation is "
                       "unavailable; applies from 2 Dec 2027.")  # fmt: skip
        elif a["D4"] != "none":
            result.flags.append("ANNEX_III_EXEMPT")
            why.append(f"Annex III {use_case}, but Art. 6(3) applies ({_label('D4', a['D4'])}): not high risk.")
            if a["D5"] != "yes":
                result.flags.append("NONCOMPLIANT_6_4")
                why.append("The Art. 6(3) assessment must be documented and the system registered (Art. 6(4), "
                           "49(2)); that is not done yet.")  # fmt: skip
        else:
            result.tier, result.route = HIGH, f"Annex III {_point(a['D1'])}"
            why.append(f"High risk: Annex III {use_case} (Art. 6(2)); applies from 2 Dec 2027.")


def _high_risk_duties(a: dict[str, str], result: TierResult) -> None:
    """Duties that follow from a high tier: the provider's by modification (Art. 25(1)), and 10. the deployer's
    fundamental rights impact assessment (Art. 27 covers Annex III systems only)."""
    why = result.explanation
    if result.tier == HIGH and a["D7"] == "yes":
        result.flags.append("PROVIDER_BY_MODIFICATION")
        why.append("Rebranded, modified or repurposed into a high-risk use: you carry the provider's duties "
                   "(Art. 25(1)).")  # fmt: skip
    if result.tier == HIGH and result.route.startswith("Annex III"):
        if result.route == "Annex III 2(a)":
            why.append("Annex III point 2: no fundamental rights impact assessment (Art. 27(1)); the system is "
                       "registered at national level (Art. 49(5)).")  # fmt: skip
        elif a["D6"] == "yes":
            result.flags.append("FRIA")
            why.append("A fundamental rights impact assessment is due before first use (Art. 27): a public "
                       "body or public-service provider, or credit scoring or life and health insurance "
                       "pricing.")  # fmt: skip


def _transparency_duties(a: dict[str, str], result: TierResult) -> None:
    """7. Art. 50 transparency duties: cumulative with high risk (Art. 50(6)); on their own they make it
    limited risk."""
    why = result.explanation
    transparency = [(flag, text) for qid, (flag, text) in TRANSPARENCY_FLAGS.items() if a[qid] == "yes"]
    if a["E4"] in ("yes", "artistic"):
        light = " (a light-touch disclosure for evidently artistic work)" if a["E4"] == "artistic" else ""
        transparency.append(("ART50_4_DEEPFAKE", f"Art. 50(4): deep fakes must be disclosed{light}"))
    for flag, text in transparency:
        result.flags.append(flag)
        why.append(f"Transparency duty — {text}.")
    if not result.tier and transparency:
        result.tier, result.route = LIMITED, "Art. 50"
        why.append("Limited risk: transparency duties under Art. 50 apply and nothing makes it high risk.")


def _minimal_otherwise(result: TierResult) -> None:
    """8. Nothing above set a tier: minimal risk."""
    why = result.explanation
    if not result.tier:
        result.tier, result.route = MINIMAL, "Art. 4, 95"
        why.append("Minimal risk: no prohibited practice, no high-risk route and no transparency duty; AI literacy "
                   "(Art. 4) and voluntary codes (Art. 95) apply.")  # fmt: skip


def _gpai(a: dict[str, str], result: TierResult) -> None:
    """9. Model-level flags, independent of the system's tier."""
    if a["F1"] != "yes":
        return
    result.flags.append("GPAI")
    if a["F2"] == "yes":
        result.flags.append("GPAI_SYSTEMIC")
        result.explanation.append(
            "General-purpose AI model with systemic risk: Art. 53 and 55 duties, notify the Commission within"
            " two weeks (Art. 52); an open licence gives no relief."
        )
    elif a["F3"] == "yes":
        result.explanation.append("General-purpose AI model under a free and open licence: Art. 53 applies without "
                                  "53(1)(a)-(b) and Art. 54.")  # fmt: skip
    else:
        result.explanation.append("General-purpose AI model: Art. 53 (and Art. 54 for providers outside the EU).")
