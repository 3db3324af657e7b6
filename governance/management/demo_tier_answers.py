"""The demo's EU AI Act answers: one deliberate answer set per `seed_demo` project, so every tier on
the demo comes from answers someone could defend, never from defaults. One project is deliberately
left unassessed, so the demo shows what "not assessed" does (the gate refuses it, a sign-off cannot be
asked for). Answers to questions the others make irrelevant are dropped when they are assessed.
"""

from __future__ import annotations

# In the EU, an AI system, no exclusion; no prohibited practice, no Annex I product, no Annex III use
# case, no transparency duty, no general-purpose model. Each project below says what differs.
IN_SCOPE_NOTHING_APPLIES: dict[str, str] = {
    "A1": "yes", "A3": "yes", "A4": "none",
    "B1": "no", "B2": "no", "B3": "no", "B4": "no", "B5": "no", "B6": "no", "B7": "no", "B8": "no", "B9": "no",
    "C1": "none", "D1": "none",
    "E1": "no", "E2": "no", "E3": "no", "E4": "no", "E5": "no",
    "F1": "no",
}  # fmt: skip

# Left unassessed on purpose (a team lead's project, in Design): whether its suggestions will also be
# used to monitor and evaluate the agents (Annex III 4(b)) is still open, so nobody has answered D1 yet.
UNASSESSED = "Agent next-best-action"

_DIFFERENCES: dict[str, dict[str, str]] = {
    # Annex III 5(b) creditworthiness of natural persons, and it profiles the applicants, so the Art. 6(3)
    # derogation is unavailable; a credit-scoring deployer owes a FRIA (Art. 27).
    "Credit scoring": {"D1": "5b", "D2": "none", "D3": "yes", "D6": "yes", "D7": "no"},
    # Art. 50(1): people must be told they are talking to an AI system.
    "Support chatbot": {"E1": "yes"},
    # Art. 5(1)(f): inferring the emotions of people at work (the contact-centre agents).
    "Voice emotion detection": {"B6": "other"},
    # Art. 50(2): generated letters and ad copy must be marked as AI-generated.
    "Claims letter drafting": {"E2": "yes"},
    "Ad copy generator": {"E2": "yes"},
    # Rule-based flags with no inference: not an AI system under Art. 3(1).
    "Legacy claims rules engine": {"A1": "no", "F1": "no"},
    # Sensor analytics for machinery maintenance planning, not a safety component needing a notified body.
    "Predictive maintenance": {"C1": "21", "C2": "no"},
    # Corporate borrowers, not natural persons: not Annex III 5(b).
    "Early-warning signals": {},
    # Insurance claims fraud is not an Annex III use case (5(c) is life and health pricing only); nor is
    # pricing motor and home renewals.
    "Claims fraud scoring": {},
    "Dynamic pricing": {},
}


def demo_tier_answers(project_name: str) -> dict[str, str] | None:
    """The demo's answers for one project, or None for the project left unassessed on purpose."""
    if project_name == UNASSESSED:
        return None
    return {**IN_SCOPE_NOTHING_APPLIES, **_DIFFERENCES.get(project_name, {})}
