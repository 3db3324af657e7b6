"""Complete questionnaire answers for tests: nothing is taken as "no" any more, so a test that wants
"a chatbot" answers every other question too, with the answer under which it changes nothing."""

from __future__ import annotations

from governance.risks.tiering import QUESTIONS


def complete(answers: dict | None = None, **more: str) -> dict[str, str]:
    """Every question answered: its neutral answer unless `answers`/`more` give one (the service drops
    the answers to questions the others make irrelevant)."""
    return {**{q.id: q.neutral for q in QUESTIONS}, **(answers or {}), **more}
