"""How a risk is scored, banded and reviewed: defined once, shown next to every score.

score = likelihood (1-5) x impact (1-5), so 1..25. The bands and review cadence follow common
enterprise risk practice (ISO 31000-style 5x5 matrices); they are product defaults, documented on
the risk pages and in the API so nobody has to guess how a level came about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models

SCALE = range(1, 6)


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


@dataclass(frozen=True)
class Band:
    level: Level
    min_score: int
    max_score: int
    review_days: int  # how long until the next review once a risk sits in this band


BANDS = (
    Band(Level.LOW, 1, 4, 365),
    Band(Level.MEDIUM, 5, 9, 180),
    Band(Level.HIGH, 10, 16, 90),
    Band(Level.CRITICAL, 17, 25, 30),
)
# Accepting a residual risk at these levels needs a risk officer and a written justification.
ACCEPTANCE_NEEDS_RISK_OFFICER = frozenset({Level.HIGH, Level.CRITICAL})

LIKELIHOOD_LABELS = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
IMPACT_LABELS = {1: "Negligible", 2: "Minor", 3: "Moderate", 4: "Major", 5: "Severe"}

OUT_OF_SCALE = "{name} must be a whole number from 1 to 5, not {value!r}."


def check_scale(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
        raise ValueError(OUT_OF_SCALE.format(name=name, value=value))
    return value


def score(likelihood: int, impact: int) -> int:
    return check_scale("Likelihood", likelihood) * check_scale("Impact", impact)


def band_for(score_value: int) -> Band:
    for band in BANDS:
        if band.min_score <= score_value <= band.max_score:
            return band
    raise ValueError(f"A score must be from 1 to 25, not {score_value!r}.")


def level(likelihood: int, impact: int) -> Level:
    return band_for(score(likelihood, impact)).level


def next_review(likelihood: int, impact: int, *, after: dt.date) -> dt.date:
    return after + dt.timedelta(days=band_for(score(likelihood, impact)).review_days)


def explain(likelihood: int, impact: int) -> str:
    """The computation in words, e.g. "Likely (4) × Major (4) = 16: High (10–16), review every 90 days"."""
    s = score(likelihood, impact)
    band = band_for(s)
    return (
        f"{LIKELIHOOD_LABELS[likelihood]} ({likelihood}) × {IMPACT_LABELS[impact]} ({impact}) = {s}: "
        f"{band.level.label} ({band.min_score}–{band.max_score}), review every {band.review_days} days"
    )
