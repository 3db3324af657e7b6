"""The EU AI Act tier rules, case by case (regulation.md §4, §5, §11–13). Pure: no database.

Every case asserts the tier, the route and the flags, and that the explanation names the specific
reason, because an opaque tier is the complaint this feature answers.
"""

from __future__ import annotations

import datetime as dt

import pytest

from governance.risks.tier_questions import ANNEX_I_ITEMS, FLAG_MEANINGS, flag_meaning
from governance.risks.tiering import (
    ANNEX_III,
    BAD_ANSWER,
    CARVE_OUT_ELSEWHERE,
    HIGH,
    LIMITED,
    MINIMAL,
    PROHIBITED,
    QUESTIONS,
    SECTIONS,
    UNANSWERED,
    UNKNOWN_QUESTION,
    AnswerError,
    TierResult,
    assess,
    normalise,
    unanswered,
    visible_questions,
)

BEFORE_BAN = dt.date(2026, 12, 1)  # the day before the NCII/CSAM ban of 2026/1744 applies
BAN_DAY = dt.date(2026, 12, 2)
MINIMAL_ROUTE = "Art. 4, 95"
MINIMAL_WHY = (
    "Minimal risk: no prohibited practice, no high-risk route and no transparency duty; AI literacy (Art. 4) and "
    "voluntary codes (Art. 95) apply."
)


def every_answer(**answers: str) -> dict[str, str]:
    """All questions answered: their neutral answers, overridden by `answers` (so no "not answered" line)."""
    return {**{q.id: q.neutral for q in QUESTIONS}, **answers}


def result_of(on: dt.date = BAN_DAY, **answers: str) -> TierResult:
    return assess(every_answer(**answers), on=on)


def says(result: TierResult, text: str) -> bool:
    return any(text in line for line in result.explanation)


def check(result: TierResult, tier: str, route: str, flags: list[str], *reasons: str) -> None:
    assert (result.tier, result.route, result.flags) == (tier, route, flags), result.explanation
    for reason in reasons:
        assert says(result, reason), f"{reason!r} not in {result.explanation}"


# --- a plain case and the defaults ---------------------------------------------------------------------


def test_a_plain_system_with_every_answer_no_is_minimal_and_says_why():
    result = result_of()
    assert (result.tier, result.route, result.flags, result.explanation) == (MINIMAL, MINIMAL_ROUTE, [], [MINIMAL_WHY])


def test_an_untouched_questionnaire_is_refused_question_by_question_not_taken_as_no():
    with pytest.raises(AnswerError) as caught:
        assess({}, on=BAN_DAY)
    # Every top-level question, no follow-up (C2, D2-D7, F2, F3 wait for the answer they follow from).
    assert list(caught.value.errors) == [
        "A1", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "C1", "D1",
        "E1", "E2", "E3", "E4", "E5", "F1",
    ]  # fmt: skip
    assert set(caught.value.errors.values()) == {UNANSWERED}


def test_one_answer_missing_is_refused_naming_only_that_question():
    answers = every_answer()
    del answers["E3"]
    with pytest.raises(AnswerError) as caught:
        assess(answers, on=BAN_DAY)
    assert caught.value.errors == {"E3": UNANSWERED}


def test_a_blank_answer_is_unanswered_not_no():
    assert normalise({"A1": "", "A3": "yes"}) == {"A3": "yes"}
    assert "A1" in unanswered(normalise({"A1": "", "A3": "yes"}))


@pytest.mark.parametrize(
    ("answers", "asked", "not_asked"),
    [
        ({}, {"A1", "B1", "C1", "D1", "E1", "F1"}, {"C2", "D2", "D3", "D4", "D5", "D6", "D7", "F2", "F3"}),
        ({"A1": "no"}, {"A1", "F1"}, {"A3", "A4", "B1", "C1", "D1", "E1"}),
        ({"A1": "yes", "A3": "yes", "A4": "research"}, {"A4", "F1"}, {"B1", "C1", "D1", "E1"}),
        ({"C1": "11"}, {"C2"}, {"D2", "D3"}),
        ({"D1": "5b"}, {"D2"}, {"D3", "D4"}),
        ({"D1": "5b", "D2": "none"}, {"D2", "D3"}, {"D4", "D6"}),
        ({"D1": "5b", "D2": "none", "D3": "yes"}, {"D3", "D6", "D7"}, {"D4", "D5"}),
        ({"D1": "4a", "D3": "no"}, {"D3", "D4"}, {"D2", "D5", "D6", "D7"}),
        ({"D1": "4a", "D3": "no", "D4": "preparatory"}, {"D4", "D5"}, {"D6", "D7"}),
        ({"D1": "4a", "D3": "no", "D4": "none"}, {"D6", "D7"}, {"D5"}),
        ({"D1": "2a", "D3": "yes"}, {"D7"}, {"D6"}),
        ({"D1": "6e"}, {"D6", "D7"}, {"D2", "D3", "D4"}),
        ({"B8": "exception"}, {"D6", "D7"}, {"D2"}),
        ({"F1": "yes"}, {"F2"}, {"F3"}),
        ({"F1": "yes", "F2": "no"}, {"F2", "F3"}, set()),
    ],
)
def test_follow_up_questions_are_asked_only_when_an_earlier_answer_makes_them_relevant(answers, asked, not_asked):
    shown = {q.id for q in visible_questions(answers)}
    assert asked <= shown
    assert not (not_asked & shown)


def test_answers_to_questions_not_asked_are_dropped_not_stored():
    answers = every_answer(A1="no", E1="yes", D1="4a")
    assert normalise(answers) == {"A1": "no", "F1": "no"}


def test_annex_i_items_are_named_by_their_legislation():
    labels = dict(ANNEX_I_ITEMS)
    assert labels["11"] == "11. Medical devices, Regulation (EU) 2017/745 (MDR)"
    assert labels["21"].startswith("21. Machinery, Regulation (EU) 2023/1230")
    result = result_of(C1="11", C2="yes")
    assert says(result, "Annex I item 11 (Medical devices, Regulation (EU) 2017/745 (MDR))")


def test_every_flag_the_rules_can_raise_has_a_meaning_in_words():
    assert flag_meaning("ART50_2") == "Mark synthetic output as AI-generated, machine-readably (Art. 50(2))"
    raised = {"OUT_OF_SCOPE", "PROHIBITED_FROM_2026_12_02", "RBI_LE_CONDITIONS", "SECTION_B", "ANNEX_III_EXEMPT",
              "NONCOMPLIANT_6_4", "PROVIDER_BY_MODIFICATION", "FRIA", "ART50_1", "ART50_2", "ART50_3",
              "ART50_4_DEEPFAKE", "ART50_4_TEXT", "GPAI", "GPAI_SYSTEMIC"}  # fmt: skip
    assert raised == set(FLAG_MEANINGS)


def test_the_questionnaire_has_every_section_in_order_and_unique_ids():
    assert list(SECTIONS) == ["scope", "prohibited", "product", "use_case", "transparency", "gpai"]
    assert [q.section for q in QUESTIONS] == sorted((q.section for q in QUESTIONS), key=list(SECTIONS).index)
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS) == 29


# --- out of scope (rule 1) -----------------------------------------------------------------------------

OUT_OF_SCOPE = [
    ({"A1": "no"}, "it is not an AI system under Art. 3(1)"),
    ({"A3": "no"}, "it is not placed on the market or used in the EU (Art. 2(1))"),
    ({"A4": "military"}, "an exclusion applies: Exclusively military, defence or national security (Art. 2)"),
    ({"A4": "research"}, "an exclusion applies: Solely scientific research and development (Art. 2)"),
    ({"A4": "pre_market"}, "an exclusion applies: Pre-market R&D, no real-world testing (Art. 2)"),
    ({"A4": "personal"}, "an exclusion applies: Purely personal, non-professional use (Art. 2)"),
]


@pytest.mark.parametrize(("answers", "reason"), OUT_OF_SCOPE, ids=[str(a) for a, _ in OUT_OF_SCOPE])
def test_a_system_outside_the_act_is_recorded_as_minimal_and_out_of_scope(answers, reason):
    check(result_of(**answers), MINIMAL, "out of scope", ["OUT_OF_SCOPE"], f"Outside the AI Act because {reason}")


def test_an_exclusion_comes_before_the_prohibitions():
    """Art. 2(3): exclusively military systems are outside the Act, Art. 5 included."""
    result = result_of(A4="military", B1="yes", D1="4a")
    check(result, MINIMAL, "out of scope", ["OUT_OF_SCOPE"], "Exclusively military")
    assert not says(result, "Prohibited")


# --- prohibited practices (rule 2) -----------------------------------------------------------------------

PROHIBITED_CASES = [
    ({"B1": "yes"}, "Art. 5(1)(a)", "subliminal, manipulative or deceptive techniques"),
    ({"B2": "yes"}, "Art. 5(1)(b)", "exploitation of vulnerabilities due to age, disability"),
    ({"B3": "yes"}, "Art. 5(1)(c)", "social scoring"),
    ({"B4": "yes"}, "Art. 5(1)(d)", "predicting criminal offending solely from profiling"),
    ({"B5": "yes"}, "Art. 5(1)(e)", "untargeted scraping of facial images"),
    ({"B6": "other"}, "Art. 5(1)(f)", "inferring emotions at the workplace or in education"),
    ({"B7": "other"}, "Art. 5(1)(g)", "biometric categorisation inferring sensitive attributes"),
    ({"B8": "other"}, "Art. 5(1)(h)", "real-time remote biometric identification for law enforcement outside"),
]


@pytest.mark.parametrize(("answers", "route", "practice"), PROHIBITED_CASES, ids=[r for _, r, _ in PROHIBITED_CASES])
def test_each_article_5_practice_is_prohibited_and_named(answers, route, practice):
    result = result_of(**answers)
    check(result, PROHIBITED, route, [], f"Prohibited practice — {route}: {practice}", "no compliance path")


def test_several_practices_are_all_named_and_the_first_sets_the_route():
    result = result_of(B2="yes", B5="yes")
    check(result, PROHIBITED, "Art. 5(1)(b)", [], "Art. 5(1)(b)", "Art. 5(1)(e)")


def test_a_prohibition_outranks_a_high_risk_use_case():
    result = result_of(B3="yes", D1="5a")
    check(result, PROHIBITED, "Art. 5(1)(c)", [], "social scoring")
    assert not says(result, "High risk")


def test_emotion_inference_at_work_for_medical_or_safety_reasons_is_not_prohibited():
    check(result_of(B6="medical_safety"), MINIMAL, MINIMAL_ROUTE, [], "(Art. 5(1)(f) exception)", MINIMAL_WHY)


def test_biometric_categorisation_only_labelling_lawful_datasets_is_not_prohibited():
    check(result_of(B7="lawful_labelling"), MINIMAL, MINIMAL_ROUTE, [], "(Art. 5(1)(g) exception)", MINIMAL_WHY)


def test_real_time_rbi_for_law_enforcement_under_an_exception_is_high_with_its_conditions():
    """Rule 3: B8 = exception → high (Annex III 1(a)) + RBI_LE_CONDITIONS (Art. 5(2)-(7))."""
    result = result_of(B8="exception")
    check(result, HIGH, "Annex III 1(a)", ["RBI_LE_CONDITIONS"], "under an Art. 5(1)(h) exception", "Art. 5(2)-(7)")


def test_ncii_or_csam_generation_is_prohibited_from_2_december_2026():
    result = result_of(on=BAN_DAY, B9="yes", E2="yes")
    check(result, PROHIBITED, "Art. 5 as amended by 2026/1744", [], "non-consensual intimate content")


def test_ncii_or_csam_generation_before_2_december_2026_is_flagged_and_the_other_rules_decide():
    """Rule 2: before the ban applies, evaluate the remaining rules and flag."""
    result = result_of(on=BEFORE_BAN, B9="yes", E2="yes")
    check(result, LIMITED, "Art. 50", ["PROHIBITED_FROM_2026_12_02", "ART50_2"], "Prohibited from 2 Dec 2026")


# --- products under Annex I (rule 4) -------------------------------------------------------------------


def test_a_section_a_product_needing_third_party_assessment_is_high_risk():
    result = result_of(C1="11", C2="yes")
    check(
        result,
        HIGH,
        "Art. 6(1), Annex I item 11",
        [],
        "under Annex I item 11 (Medical devices, Regulation (EU) 2017/745 (MDR)) that needs third-party conformity",
    )
    assert not says(result, "Section B")


@pytest.mark.parametrize("item", ["13", "18", "21"])
def test_a_section_b_product_is_high_risk_with_the_section_b_flag(item):
    result = result_of(C1=item, C2="yes")
    check(result, HIGH, f"Art. 6(1), Annex I item {item}", ["SECTION_B"], "Annex I Section B: only Art. 6(1)")


def test_the_last_section_a_item_has_no_section_b_flag():
    check(result_of(C1="12", C2="yes"), HIGH, "Art. 6(1), Annex I item 12", [], "Annex I item 12")


def test_an_annex_i_product_without_third_party_assessment_is_not_high_risk():
    result = result_of(C1="2", C2="no")
    check(
        result,
        MINIMAL,
        MINIMAL_ROUTE,
        [],
        "Annex I item 2 (Toys, Directive 2009/48/EC) without third-party conformity assessment: not high risk",
    )


def test_the_article_6_3_derogation_does_not_apply_to_the_product_route():
    result = result_of(C1="11", C2="yes", D1="5d", D4="preparatory", D5="yes")
    check(result, HIGH, "Art. 6(1), Annex I item 11", [], "Annex I item 11")


def test_a_product_route_on_top_of_the_rbi_exception_is_said_as_well():
    result = result_of(B8="exception", C1="20", C2="yes")
    check(result, HIGH, "Annex III 1(a)", ["RBI_LE_CONDITIONS", "SECTION_B"], "Also high risk by Art. 6(1)")
    assert not says(result, "without third-party")


# --- Annex III use cases (rule 5) ------------------------------------------------------------------------

# Each of the 25 sub-points, with the words the explanation must use to name it.
ANNEX_III_CASES = [
    ("1a", "Annex III 1(a)", "1(a) Remote biometric identification"),
    ("1b", "Annex III 1(b)", "1(b) Biometric categorisation by sensitive attributes"),
    ("1c", "Annex III 1(c)", "1(c) Emotion recognition"),
    ("2a", "Annex III 2(a)", "2(a) Safety component of critical infrastructure"),
    ("3a", "Annex III 3(a)", "3(a) Access or admission to education"),
    ("3b", "Annex III 3(b)", "3(b) Evaluating learning outcomes"),
    ("3c", "Annex III 3(c)", "3(c) Assessing the level of education"),
    ("3d", "Annex III 3(d)", "3(d) Proctoring"),
    ("4a", "Annex III 4(a)", "4(a) Recruitment and selection"),
    ("4b", "Annex III 4(b)", "4(b) Work decisions"),
    ("5a", "Annex III 5(a)", "5(a) Eligibility for public assistance"),
    ("5b", "Annex III 5(b)", "5(b) Creditworthiness or credit score"),
    ("5c", "Annex III 5(c)", "5(c) Risk assessment and pricing in life and health insurance"),
    ("5d", "Annex III 5(d)", "5(d) Emergency calls"),
    ("6a", "Annex III 6(a)", "6(a) Law enforcement: risk of becoming a crime victim"),
    ("6b", "Annex III 6(b)", "6(b) Law enforcement: polygraphs"),
    ("6c", "Annex III 6(c)", "6(c) Law enforcement: reliability of evidence"),
    ("6d", "Annex III 6(d)", "6(d) Law enforcement: risk of (re-)offending"),
    ("6e", "Annex III 6(e)", "6(e) Law enforcement: profiling"),
    ("7a", "Annex III 7(a)", "7(a) Migration: polygraphs"),
    ("7b", "Annex III 7(b)", "7(b) Migration: security, irregular-migration or health risk"),
    ("7c", "Annex III 7(c)", "7(c) Migration: asylum, visa and residence"),
    ("7d", "Annex III 7(d)", "7(d) Migration: detecting, recognising or identifying"),
    ("8a", "Annex III 8(a)", "8(a) Assisting a judicial authority"),
    ("8b", "Annex III 8(b)", "8(b) Influencing elections"),
]


def test_the_table_covers_all_25_annex_iii_sub_points():
    assert [code for code, *_ in ANNEX_III_CASES] == [code for code, _ in ANNEX_III]
    assert len(ANNEX_III_CASES) == 25


@pytest.mark.parametrize(("point", "route", "name"), ANNEX_III_CASES, ids=[c for c, *_ in ANNEX_III_CASES])
def test_each_annex_iii_sub_point_is_high_risk_and_named(point, route, name):
    result = result_of(D1=point)
    check(result, HIGH, route, [], f"High risk: Annex III {name}")
    assert says(result, "applies from 2 Dec 2027")


CARVE_OUTS = [
    ("1a", "biometric_verification", "1:1 biometric verification"),
    ("5b", "fraud_detection", "Detection of financial fraud"),
    ("7d", "travel_documents", "Verification of travel documents"),
    ("8b", "campaign_logistics", "Campaign logistics not exposed to people"),
]


@pytest.mark.parametrize(("point", "carve_out", "label"), CARVE_OUTS, ids=[c for _, c, _ in CARVE_OUTS])
def test_each_carve_out_takes_its_own_point_out_of_high_risk(point, carve_out, label):
    result = result_of(D1=point, D2=carve_out)
    check(result, MINIMAL, MINIMAL_ROUTE, [], f'but the carve-out "{label}" applies: not high risk', MINIMAL_WHY)


def test_a_carve_out_applies_even_when_the_system_profiles():
    """Rule 5: only a point without a carve-out is an Annex III candidate; profiling does not bring it back."""
    check(
        result_of(D1="5b", D2="fraud_detection", D3="yes"), MINIMAL, MINIMAL_ROUTE, [], "Detection of financial fraud"
    )


@pytest.mark.parametrize(
    ("point", "carve_out", "own_point"),
    [("4a", "fraud_detection", "5(b)"), ("7c", "travel_documents", "7(d)"), ("1b", "biometric_verification", "1(a)"),
     ("8a", "campaign_logistics", "8(b)"), ("none", "fraud_detection", "5(b)")],
)  # fmt: skip
def test_a_carve_out_of_another_point_is_refused_naming_d2(point, carve_out, own_point):
    with pytest.raises(AnswerError) as exc:
        result_of(D1=point, D2=carve_out)
    assert exc.value.errors == {"D2": CARVE_OUT_ELSEWHERE.format(value=carve_out, point=own_point)}
    assert exc.value.errors["D2"] == (
        f"'{carve_out}' is a carve-out of Annex III {own_point} only; answer D1 = {own_point}, or D2 = none."
    )


def test_profiling_overrides_the_article_6_3_derogation():
    result = result_of(D1="4b", D3="yes", D4="procedural", D5="yes")
    check(result, HIGH, "Annex III 4(b)", [], "and it profiles natural persons, so the Art. 6(3) derogation is unavail")


def test_law_enforcement_profiling_6e_is_profiling_whatever_d3_says():
    result = result_of(D1="6e", D3="no", D4="preparatory", D5="yes")
    check(result, HIGH, "Annex III 6(e)", [], "6(e) is profiling of natural persons, so the Art. 6(3) derogation")


DEROGATIONS = [
    ("procedural", "A narrow procedural task"),
    ("improves_human", "Improves the result of completed human work"),
    ("pattern_detection", "Detects patterns or deviations, with human review"),
    ("preparatory", "A preparatory task"),
]


@pytest.mark.parametrize(("condition", "label"), DEROGATIONS, ids=[c for c, _ in DEROGATIONS])
def test_an_article_6_3_condition_documented_and_registered_is_not_high_risk(condition, label):
    result = result_of(D1="3b", D4=condition, D5="yes")
    check(result, MINIMAL, MINIMAL_ROUTE, ["ANNEX_III_EXEMPT"], f"but Art. 6(3) applies ({label}): not high risk")
    assert not says(result, "Art. 6(4)")


def test_an_article_6_3_derogation_not_documented_is_flagged_noncompliant():
    result = result_of(D1="3b", D4="preparatory", D5="no")
    check(
        result, MINIMAL, MINIMAL_ROUTE, ["ANNEX_III_EXEMPT", "NONCOMPLIANT_6_4"],
        "Art. 6(3) applies (A preparatory task)", "must be documented and the system registered (Art. 6(4), 49(2))",
    )  # fmt: skip


def test_an_exempt_annex_iii_system_with_a_transparency_duty_is_limited():
    result = result_of(D1="5d", D4="procedural", D5="yes", E1="yes")
    check(result, LIMITED, "Art. 50", ["ANNEX_III_EXEMPT", "ART50_1"], "Art. 6(3) applies", "Limited risk")


def test_repurposing_into_a_high_risk_use_makes_you_the_provider():
    result = result_of(D1="4a", D7="yes")
    check(result, HIGH, "Annex III 4(a)", ["PROVIDER_BY_MODIFICATION"], "provider's duties (Art. 25(1))")


def test_repurposing_flag_needs_a_high_risk_result():
    check(result_of(D7="yes"), MINIMAL, MINIMAL_ROUTE, [], MINIMAL_WHY)


def test_a_public_deployer_of_an_annex_iii_system_owes_a_fria():
    result = result_of(D1="5a", D6="yes")
    check(result, HIGH, "Annex III 5(a)", ["FRIA"], "fundamental rights impact assessment is due before first use")


def test_critical_infrastructure_owes_no_fria_even_for_a_public_deployer():
    result = result_of(D1="2a", D6="yes")
    check(result, HIGH, "Annex III 2(a)", [], "no fundamental rights impact assessment (Art. 27(1))", "Art. 49(5)")


def test_the_product_route_owes_no_fria():
    check(result_of(C1="11", C2="yes", D6="yes"), HIGH, "Art. 6(1), Annex I item 11", [], "Annex I item 11")


# --- transparency (rule 7) -------------------------------------------------------------------------------

TRANSPARENCY = [
    ({"E1": "yes"}, ["ART50_1"], "Art. 50(1): people must be told they are interacting with an AI system"),
    ({"E2": "yes"}, ["ART50_2"], "Art. 50(2): synthetic outputs must be marked as AI-generated"),
    ({"E3": "yes"}, ["ART50_3"], "Art. 50(3): people exposed to emotion recognition or biometric categorisation"),
    ({"E4": "yes"}, ["ART50_4_DEEPFAKE"], "Art. 50(4): deep fakes must be disclosed."),
    ({"E4": "artistic"}, ["ART50_4_DEEPFAKE"], "Art. 50(4): deep fakes must be disclosed (a light-touch disclosure"),
    ({"E5": "yes"}, ["ART50_4_TEXT"], "Art. 50(4): AI-generated text on matters of public interest"),
]


@pytest.mark.parametrize(("answers", "flags", "duty"), TRANSPARENCY, ids=[str(a) for a, *_ in TRANSPARENCY])
def test_each_transparency_duty_alone_is_limited_risk(answers, flags, duty):
    result = result_of(**answers)
    check(result, LIMITED, "Art. 50", flags, f"Transparency duty — {duty}", "Limited risk: transparency duties")


def test_transparency_duties_stack_on_high_risk():
    """Art. 50(6): the duties come on top of high risk, not instead of it."""
    result = result_of(D1="4a", E1="yes", E2="yes", E5="yes")
    check(result, HIGH, "Annex III 4(a)", ["ART50_1", "ART50_2", "ART50_4_TEXT"], "High risk: Annex III 4(a)",
          "Art. 50(1)", "Art. 50(2)", "Art. 50(4): AI-generated text")  # fmt: skip
    assert not says(result, "Limited risk")


# --- general-purpose AI (rule 9) -------------------------------------------------------------------------

GPAI = [
    ({"F1": "yes"}, ["GPAI"], "General-purpose AI model: Art. 53 (and Art. 54"),
    ({"F1": "yes", "F2": "yes"}, ["GPAI", "GPAI_SYSTEMIC"], "notify the Commission within two weeks (Art. 52)"),
    ({"F1": "yes", "F3": "yes"}, ["GPAI"], "under a free and open licence: Art. 53 applies without 53(1)(a)-(b)"),
    ({"F1": "yes", "F2": "yes", "F3": "yes"}, ["GPAI", "GPAI_SYSTEMIC"], "an open licence gives no relief"),
]


@pytest.mark.parametrize(("answers", "flags", "reason"), GPAI, ids=[str(a) for a, *_ in GPAI])
def test_gpai_flags_are_model_level_and_leave_the_system_tier_alone(answers, flags, reason):
    check(result_of(**answers), MINIMAL, MINIMAL_ROUTE, flags, reason, MINIMAL_WHY)


def test_f2_or_f3_without_f1_sets_no_gpai_flag():
    result = result_of(F2="yes", F3="yes")
    assert (result.tier, result.flags, result.explanation) == (MINIMAL, [], [MINIMAL_WHY])


@pytest.mark.parametrize(
    ("answers", "tier", "route"),
    [({"B1": "yes"}, PROHIBITED, "Art. 5(1)(a)"), ({"A3": "no"}, MINIMAL, "out of scope")],
    ids=["prohibited", "out of scope"],
)
def test_gpai_flags_accompany_any_tier(answers, tier, route):
    result = result_of(F1="yes", **answers)
    assert (result.tier, result.route, result.flags[-1]) == (tier, route, "GPAI")
    assert says(result, "General-purpose AI model: Art. 53")


# --- regulation.md §13, the worked examples ----------------------------------------------------------------


def test_example_1_cv_screening_that_ranks_candidates_is_high_via_4a():
    check(result_of(D1="4a", D3="yes"), HIGH, "Annex III 4(a)", [], "4(a) Recruitment", "profiles natural persons")


def test_example_2_customer_service_chatbot_is_limited_via_article_50_1():
    check(result_of(E1="yes", E2="yes"), LIMITED, "Art. 50", ["ART50_1", "ART50_2"], "Art. 50(1)", "Art. 50(2)")


def test_example_3_spam_filter_is_minimal():
    no = {q.id: "no" for q in QUESTIONS if ("no", "No") in q.choices and q.section != "scope"}
    result = result_of(**no)
    assert (result.tier, result.route, result.flags, result.explanation) == (MINIMAL, MINIMAL_ROUTE, [], [MINIMAL_WHY])


def test_example_4_municipal_social_scoring_is_prohibited_via_5_1_c():
    check(result_of(B3="yes"), PROHIBITED, "Art. 5(1)(c)", [], "social scoring leading to unrelated")


def test_example_5_bank_credit_scoring_is_high_via_5b_with_a_fria():
    result = result_of(D1="5b", D3="yes", D6="yes")
    check(result, HIGH, "Annex III 5(b)", ["FRIA"], "5(b) Creditworthiness", "profiles natural persons", "(Art. 27)")


def test_example_6_card_fraud_detection_is_not_high_risk():
    check(result_of(D1="5b", D2="fraud_detection"), MINIMAL, MINIMAL_ROUTE, [], "Detection of financial fraud")


def test_example_7_medical_device_image_analysis_is_high_via_article_6_1():
    check(result_of(C1="11", C2="yes"), HIGH, "Art. 6(1), Annex I item 11", [], "applies from 2 Aug 2028")


def test_example_8_deep_fake_generator_is_limited_via_50_2_and_50_4():
    result = result_of(E2="yes", E4="yes")
    check(result, LIMITED, "Art. 50", ["ART50_2", "ART50_4_DEEPFAKE"], "Art. 50(2)", "deep fakes must be disclosed")


def test_example_8_a_deep_fake_generator_that_can_make_ncii_is_prohibited_from_2_december_2026():
    check(result_of(on=BAN_DAY, E2="yes", E4="yes", B9="yes"), PROHIBITED, "Art. 5 as amended by 2026/1744", [],
          "child sexual abuse material (applies from 2 Dec 2026)")  # fmt: skip


def test_example_9_emotion_detection_of_call_centre_agents_is_prohibited_via_5_1_f():
    check(result_of(B6="other"), PROHIBITED, "Art. 5(1)(f)", [], "inferring emotions at the workplace")


def test_example_9_the_same_technology_on_customers_is_high_with_the_50_3_duty():
    check(result_of(D1="1c", E3="yes"), HIGH, "Annex III 1(c)", ["ART50_3"], "1(c) Emotion recognition", "50(3)")


def test_example_10_foundation_llm_over_10_25_flop_carries_the_systemic_gpai_flag():
    check(result_of(F1="yes", F2="yes"), MINIMAL, MINIMAL_ROUTE, ["GPAI", "GPAI_SYSTEMIC"], "systemic risk")


# --- answers that do not fit -----------------------------------------------------------------------------


def test_unknown_questions_and_invalid_choices_are_each_named():
    with pytest.raises(AnswerError) as exc:
        assess({"Z9": "yes", "B1": "maybe", "D1": "9z", "E1": "yes"})
    assert exc.value.errors == {
        "Z9": UNKNOWN_QUESTION.format(id="Z9"),
        "B1": BAD_ANSWER.format(value="maybe", id="B1", choices="no, yes"),
        "D1": BAD_ANSWER.format(value="9z", id="D1", choices="none, " + ", ".join(c for c, _ in ANNEX_III)),
    }
    assert exc.value.errors["Z9"] == "Unknown question 'Z9'."
    assert exc.value.errors["B1"] == "'maybe' is not an answer to B1; choose one of: no, yes."
    assert str(exc.value).startswith("Z9: Unknown question 'Z9'.; B1: 'maybe' is not an answer to B1")


@pytest.mark.parametrize("value", [True, 1, ["yes"], {"a": "yes"}])  # null, like "", is unanswered
def test_an_answer_that_is_not_a_string_is_refused_naming_the_question(value):
    with pytest.raises(AnswerError) as exc:
        assess({"B1": value})
    assert list(exc.value.errors) == ["B1"]
    assert exc.value.errors["B1"].endswith("is not an answer to B1; choose one of: no, yes.")


def test_answers_that_are_not_an_object_are_refused():
    with pytest.raises(AnswerError) as exc:
        assess(["B1", "yes"])
    assert exc.value.errors == {"answers": "Send the answers as an object of question id → answer."}
