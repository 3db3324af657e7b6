"""The EU AI Act questionnaire: its questions, and which of them a set of answers makes relevant.
Pure data and functions: no ORM, no request (governance/risks/tiering.py applies the rules).

Nothing is pre-answered. A question is asked when the answers so far leave it able to change the
outcome, and only then (`visible_questions`): a follow-up (C2, D2-D7, F2, F3) appears once the answer it
follows from is given; a whole section is skipped once the scope answers take the system out of the
Act. Questions that are not asked are neither required nor stored; the rules read them as their
`neutral` answer, the one under which that question changes nothing, which is what makes skipping
them safe.
"""

from __future__ import annotations

from dataclasses import dataclass

YES_NO = (("no", "No"), ("yes", "Yes"))


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str
    ref: str
    choices: tuple[tuple[str, str], ...] = YES_NO
    # The answer under which this question changes nothing: what the rules read for a question that
    # was not asked. Never an answer given on someone's behalf.
    neutral: str = "no"


ANNEX_III = (
    ("1a", "1(a) Remote biometric identification"),
    ("1b", "1(b) Biometric categorisation by sensitive attributes"),
    ("1c", "1(c) Emotion recognition"),
    ("2a", "2(a) Safety component of critical infrastructure"),
    ("3a", "3(a) Access or admission to education"),
    ("3b", "3(b) Evaluating learning outcomes"),
    ("3c", "3(c) Assessing the level of education a person receives"),
    ("3d", "3(d) Proctoring: detecting prohibited behaviour in tests"),
    ("4a", "4(a) Recruitment and selection of candidates"),
    ("4b", "4(b) Work decisions: promotion, termination, task allocation, monitoring"),
    ("5a", "5(a) Eligibility for public assistance benefits and services"),
    ("5b", "5(b) Creditworthiness or credit score of natural persons"),
    ("5c", "5(c) Risk assessment and pricing in life and health insurance"),
    ("5d", "5(d) Emergency calls, dispatch, or emergency patient triage"),
    ("6a", "6(a) Law enforcement: risk of becoming a crime victim"),
    ("6b", "6(b) Law enforcement: polygraphs and similar tools"),
    ("6c", "6(c) Law enforcement: reliability of evidence"),
    ("6d", "6(d) Law enforcement: risk of (re-)offending"),
    ("6e", "6(e) Law enforcement: profiling in criminal investigations"),
    ("7a", "7(a) Migration: polygraphs and similar tools"),
    ("7b", "7(b) Migration: security, irregular-migration or health risk of a person"),
    ("7c", "7(c) Migration: asylum, visa and residence applications"),
    ("7d", "7(d) Migration: detecting, recognising or identifying persons"),
    ("8a", "8(a) Assisting a judicial authority with facts and law"),
    ("8b", "8(b) Influencing elections, referenda or voting behaviour"),
)
# Annex I by item, as regulation.md §3 lists it (1-12 Section A, 13-21 Section B). 2026/1744 moved
# machinery from item 1 to item 21; item 1 stays so that earlier answers still read.
ANNEX_I_ITEMS = (
    ("1", "1. Machinery, Directive 2006/42/EC (moved to item 21 by 2026/1744)"),
    ("2", "2. Toys, Directive 2009/48/EC"),
    ("3", "3. Recreational craft and personal watercraft, Directive 2013/53/EU"),
    ("4", "4. Lifts and safety components for lifts, Directive 2014/33/EU"),
    ("5", "5. Equipment for potentially explosive atmospheres (ATEX), Directive 2014/34/EU"),
    ("6", "6. Radio equipment, Directive 2014/53/EU"),
    ("7", "7. Pressure equipment, Directive 2014/68/EU"),
    ("8", "8. Cableway installations, Regulation (EU) 2016/424"),
    ("9", "9. Personal protective equipment, Regulation (EU) 2016/425"),
    ("10", "10. Appliances burning gaseous fuels, Regulation (EU) 2016/426"),
    ("11", "11. Medical devices, Regulation (EU) 2017/745 (MDR)"),
    ("12", "12. In vitro diagnostic medical devices, Regulation (EU) 2017/746 (IVDR)"),
    ("13", "13. Civil aviation security, Regulation (EC) 300/2008 (Section B)"),
    ("14", "14. Two- or three-wheel vehicles and quadricycles, Regulation (EU) 168/2013 (Section B)"),
    ("15", "15. Agricultural and forestry vehicles, Regulation (EU) 167/2013 (Section B)"),
    ("16", "16. Marine equipment, Directive 2014/90/EU (Section B)"),
    ("17", "17. Rail system interoperability, Directive (EU) 2016/797 (Section B)"),
    ("18", "18. Motor vehicles and trailers (type approval), Regulation (EU) 2018/858 (Section B)"),
    ("19", "19. Motor-vehicle general safety, Regulation (EU) 2019/2144 (Section B)"),
    ("20", "20. Unmanned aircraft and their remote control, Regulation (EU) 2018/1139 (Section B)"),
    ("21", "21. Machinery, Regulation (EU) 2023/1230 (Section B, since 2026/1744)"),
)

QUESTIONS: tuple[Question, ...] = (
    # A. Scope
    Question("A1", "scope", "Does the system infer from its inputs how to generate outputs (predictions, content, "
             "recommendations, decisions) with some autonomy?", "Art. 3(1)", neutral="yes"),
    Question("A3", "scope", "Is it placed on the EU market or used in the EU, or is its output used in the EU?",
             "Art. 2(1)", neutral="yes"),
    Question("A4", "scope", "Does an exclusion apply?", "Art. 2(3), 2(6), 2(8), 2(10)",
             (("none", "None"), ("military", "Exclusively military, defence or national security"),
              ("research", "Solely scientific research and development"),
              ("pre_market", "Pre-market R&D, no real-world testing"),
              ("personal", "Purely personal, non-professional use")), neutral="none"),
    # B. Prohibited practices
    Question("B1", "prohibited", "Does it use subliminal, manipulative or deceptive techniques that materially distort "
             "behaviour and cause, or are likely to cause, significant harm?", "Art. 5(1)(a)"),
    Question("B2", "prohibited", "Does it exploit vulnerabilities due to age, disability or a social or economic "
             "situation, materially distorting behaviour with significant harm?", "Art. 5(1)(b)"),
    Question("B3", "prohibited", "Does it score people over time on social behaviour or personal traits, leading to "
             "detrimental treatment in unrelated contexts or out of proportion?", "Art. 5(1)(c)"),
    Question("B4", "prohibited", "Does it predict a person's risk of offending solely from profiling or personality "
             "traits (not supporting a human assessment based on objective facts)?", "Art. 5(1)(d)"),
    Question("B5", "prohibited", "Does it build or expand a facial-recognition database by untargeted scraping of "
             "images from the internet or CCTV?", "Art. 5(1)(e)"),
    Question("B6", "prohibited", "Does it infer the emotions of people at the workplace or in education?",
             "Art. 5(1)(f)", (("no", "No"), ("medical_safety", "Yes, for medical or safety reasons"),
                              ("other", "Yes, for another purpose"))),
    Question("B7", "prohibited", "Does it categorise people by biometric data to infer race, political opinions, "
             "trade-union membership, religion or beliefs, sex life or sexual orientation?", "Art. 5(1)(g)",
             (("no", "No"), ("lawful_labelling", "Yes, only labelling or filtering lawfully acquired datasets, "
                             "or law-enforcement categorisation"), ("other", "Yes, otherwise"))),
    Question("B8", "prohibited", "Does it perform real-time remote biometric identification in publicly accessible "
             "spaces for law enforcement?", "Art. 5(1)(h), 5(2)-(5)",
             (("no", "No"), ("exception", "Yes, for an Art. 5(1)(h)(i)-(iii) purpose with national law, prior "
                             "authorisation, FRIA and registration"), ("other", "Yes, otherwise"))),
    Question("B9", "prohibited", "Can it generate or manipulate realistic non-consensual intimate content of "
             "identifiable people, or child sexual abuse material (by purpose, or foreseeably without reasonable "
             "safeguards)?", "Art. 5 as amended by 2026/1744"),
    # C. Products (Art. 6(1))
    Question("C1", "product", "Is the system a product, or a safety component of a product, covered by Annex I "
             "(not mere assistance, optimisation, convenience or quality control without a health or safety "
             "failure mode)?", "Art. 6(1)(a), Annex I", (("none", "No"), *ANNEX_I_ITEMS), neutral="none"),
    Question("C2", "product", "Must that product undergo third-party (notified-body) conformity assessment under "
             "its sectoral law?", "Art. 6(1)(b)"),
    # D. Use cases (Annex III)
    Question("D1", "use_case", "Does the intended purpose match an Annex III use case?", "Art. 6(2), Annex III",
             (("none", "None"), *ANNEX_III), neutral="none"),
    Question("D2", "use_case", "Does a listed carve-out apply?", "Annex III 1(a), 5(b), 7(d), 8(b)",
             (("none", "None"), ("biometric_verification", "1:1 biometric verification"),
              ("fraud_detection", "Detection of financial fraud"),
              ("travel_documents", "Verification of travel documents"),
              ("campaign_logistics", "Campaign logistics not exposed to people")), neutral="none"),
    Question("D3", "use_case", "Does it profile natural persons (automated evaluation of personal aspects)?",
             "Art. 6(3) last subparagraph"),
    Question("D4", "use_case", "Which Art. 6(3) condition applies, with no material influence on decision outcomes?",
             "Art. 6(3)(a)-(d)", (("none", "None"), ("procedural", "A narrow procedural task"),
                                  ("improves_human", "Improves the result of completed human work"),
                                  ("pattern_detection", "Detects patterns or deviations, with human review"),
                                  ("preparatory", "A preparatory task")), neutral="none"),
    Question("D5", "use_case", "(Provider) Is the Art. 6(3) assessment documented and the system registered in the "
             "EU database?", "Art. 6(4), 49(2)"),
    Question("D6", "use_case", "(Deployer) Are you a public-law body or a private entity providing public "
             "services, or do you deploy it for credit scoring (5(b)) or life and health insurance pricing (5(c))?",
             "Art. 27(1)"),
    Question("D7", "use_case", "Have you rebranded, substantially modified or repurposed the system into a "
             "high-risk use?", "Art. 25(1)"),
    # E. Transparency (Art. 50)
    Question("E1", "transparency", "Does it interact directly with people (chat, voice, agent) in a way that is not "
             "obvious to a reasonable person?", "Art. 50(1)"),
    Question("E2", "transparency", "Does it generate synthetic audio, image, video or text beyond assistive editing?",
             "Art. 50(2)"),
    Question("E3", "transparency", "Is it an emotion-recognition or biometric-categorisation system (not "
             "prohibited)?", "Art. 50(3)"),
    Question("E4", "transparency", "Does it generate or manipulate image, audio or video deep fakes shown to others?",
             "Art. 50(4) first subparagraph", (("no", "No"), ("yes", "Yes"),
                                               ("artistic", "Yes, evidently artistic, satirical or fictional"))),
    Question("E5", "transparency", "Does it generate text published to inform the public on matters of public "
             "interest without human editorial control?", "Art. 50(4) second subparagraph"),
    # F. General-purpose AI (model-level flags)
    Question("F1", "gpai", "Do you place on the EU market a general-purpose AI model?", "Art. 3(63), 53"),
    Question("F2", "gpai", "Was it trained with more than 10^25 FLOP, or designated by the Commission?",
             "Art. 51(1)-(2), 52"),
    Question("F3", "gpai", "Is it released under a free and open licence with public weights?", "Art. 53(2), 54(6)"),
)  # fmt: skip
QUESTIONS_BY_ID = {q.id: q for q in QUESTIONS}
SECTIONS = {
    "scope": "Scope",
    "prohibited": "Prohibited practices (Art. 5)",
    "product": "Products under Annex I (Art. 6(1))",
    "use_case": "High-risk use cases (Annex III)",
    "transparency": "Transparency duties (Art. 50)",
    "gpai": "General-purpose AI models",
}


# The follow-ups and when they are asked, in words (the page and the API say it).
ASKED_WHEN = {
    "A3": "A1 is not 'no'",
    "A4": "A1 and A3 are not 'no'",
    "C2": "C1 names an Annex I item",
    "D2": "D1 is an Annex III point with a listed carve-out (1(a), 5(b), 7(d), 8(b))",
    "D3": "D1 names an Annex III point other than 6(e) and no carve-out applies",
    "D4": "the system does not profile people (D3 = no)",
    "D5": "an Art. 6(3) condition applies (D4)",
    "D6": "the answers so far make it high risk under Annex III",
    "D7": "the answers so far make it high risk",
    "F2": "F1 = yes",
    "F3": "F1 = yes and F2 = no",
}
# Whole sections are asked only while the system is in the Act's scope (section A).
IN_SCOPE_SECTIONS = ("prohibited", "product", "use_case", "transparency")
CARVE_OUT_POINTS = ("1a", "5b", "7d", "8b")


def out_of_scope(answers: dict) -> bool:
    """True once an answer in section A takes the system out of the Act (unanswered is not out)."""
    return answers.get("A1") == "no" or answers.get("A3") == "no" or answers.get("A4", "none") != "none"


def _annex_iii_high(a: dict) -> bool:
    """The Annex III answers given so far make the system high risk (rule 5a or 5c)."""
    d1 = a.get("D1")
    if d1 in (None, "none") or a.get("D2", "none") != "none":
        return False
    return d1 == "6e" or a.get("D3") == "yes" or (a.get("D3") == "no" and a.get("D4") == "none")


def _follow_ups(a: dict) -> set[str]:
    """The follow-up questions the answers so far make relevant (each needs its parent answered)."""
    shown = set()
    if a.get("C1") not in (None, "none"):
        shown.add("C2")
    d1 = a.get("D1")
    if d1 in CARVE_OUT_POINTS:
        shown.add("D2")
    carve_out_open = d1 not in CARVE_OUT_POINTS or a.get("D2") == "none"
    if d1 not in (None, "none", "6e") and carve_out_open:
        shown.add("D3")
        if a.get("D3") == "no":
            shown.add("D4")
            if a.get("D4") not in (None, "none"):
                shown.add("D5")
    rbi_exception = a.get("B8") == "exception"
    if rbi_exception or (_annex_iii_high(a) and d1 != "2a"):
        shown.add("D6")
    if rbi_exception or _annex_iii_high(a) or ("C2" in shown and a.get("C2") == "yes"):
        shown.add("D7")
    if a.get("F1") == "yes":
        shown.add("F2")
        if a.get("F2") == "no":
            shown.add("F3")
    return shown


def visible_questions(answers: dict) -> list[Question]:
    """The questions to ask, in order, given the answers so far (answers to hidden questions ignored)."""
    shown: list[Question] = []
    given: dict = {}
    for q in QUESTIONS:
        if _asked(q, given):
            shown.append(q)
            if q.id in answers:
                given[q.id] = answers[q.id]
    return shown


def _asked(q: Question, given: dict) -> bool:
    """Is `q` asked, given the answers to the questions before it that were themselves asked?"""
    if q.id == "A3":
        return given.get("A1") != "no"
    if q.id == "A4":
        return given.get("A1") != "no" and given.get("A3") != "no"
    if q.section in IN_SCOPE_SECTIONS and out_of_scope(given):
        return False
    return q.id not in ASKED_WHEN or q.id in _follow_ups(given)


FLAG_MEANINGS = {
    "OUT_OF_SCOPE": "Outside the AI Act (Art. 2, 3(1))",
    "PROHIBITED_FROM_2026_12_02": "Becomes a prohibited practice on 2 Dec 2026 (2026/1744); re-assessed that day",
    "RBI_LE_CONDITIONS": "Real-time remote biometric identification under the Art. 5(2)-(7) conditions",
    "SECTION_B": "Annex I Section B product: only Art. 6(1), 102-109 and 112 apply",
    "ANNEX_III_EXEMPT": "Annex III use case exempted by Art. 6(3)",
    "NONCOMPLIANT_6_4": "The Art. 6(3) exemption is not yet documented and registered (Art. 6(4), 49(2))",
    "PROVIDER_BY_MODIFICATION": "You carry the provider's duties (Art. 25(1))",
    "FRIA": "Fundamental rights impact assessment due before first use (Art. 27)",
    "ART50_1": "Tell people they are interacting with an AI system (Art. 50(1))",
    "ART50_2": "Mark synthetic output as AI-generated, machine-readably (Art. 50(2))",
    "ART50_3": "Tell people exposed to emotion recognition or biometric categorisation (Art. 50(3))",
    "ART50_4_DEEPFAKE": "Disclose deep fakes (Art. 50(4))",
    "ART50_4_TEXT": "Disclose AI-generated text on matters of public interest (Art. 50(4))",
    "GPAI": "General-purpose AI model duties (Art. 53)",
    "GPAI_SYSTEMIC": "General-purpose AI model with systemic risk (Art. 51-55)",
}


def flag_meaning(flag: str) -> str:
    return FLAG_MEANINGS.get(flag, flag)
