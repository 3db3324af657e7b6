"""Score, level, review cadence and the computation text, at every band boundary (risk_scoring).

The expected values are written out by hand, not recomputed from BANDS, so a change to the bands
fails here until someone updates this table on purpose.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from governance.risks import scoring as risk_scoring
from governance.risks.scoring import (
    BANDS,
    OUT_OF_SCALE,
    Level,
    band_for,
    check_scale,
    explain,
    level,
    next_review,
    score,
)

L, M, H, C = Level.LOW, Level.MEDIUM, Level.HIGH, Level.CRITICAL
# Rows: likelihood 1..5; columns: impact 1..5.
EXPECTED_SCORES = [
    [1, 2, 3, 4, 5],
    [2, 4, 6, 8, 10],
    [3, 6, 9, 12, 15],
    [4, 8, 12, 16, 20],
    [5, 10, 15, 20, 25],
]
EXPECTED_LEVELS = [
    [L, L, L, L, M],
    [L, L, M, M, H],
    [L, M, M, H, H],
    [L, M, H, H, C],
    [M, H, H, C, C],
]
ALL_CELLS = [(lk, im) for lk in range(1, 6) for im in range(1, 6)]


@pytest.mark.parametrize(("likelihood", "impact"), ALL_CELLS, ids=[f"{lk}x{im}" for lk, im in ALL_CELLS])
def test_score_and_level_of_every_cell_of_the_matrix(likelihood, impact):
    assert score(likelihood, impact) == EXPECTED_SCORES[likelihood - 1][impact - 1]
    assert level(likelihood, impact) == EXPECTED_LEVELS[likelihood - 1][impact - 1]


def test_the_matrix_holds_eight_low_seven_medium_seven_high_and_three_critical_cells():
    cells = [level(lk, im) for lk, im in ALL_CELLS]
    assert {lvl: cells.count(lvl) for lvl in (L, M, H, C)} == {L: 8, M: 7, H: 7, C: 3}


BOUNDARIES = [
    (1, L), (4, L), (5, M), (9, M), (10, H), (16, H), (17, C), (25, C),
]  # fmt: skip


@pytest.mark.parametrize(("score_value", "expected"), BOUNDARIES)
def test_band_for_each_side_of_every_boundary(score_value, expected):
    assert band_for(score_value).level == expected


@pytest.mark.parametrize("score_value", [0, 26, -1])
def test_band_for_a_score_outside_1_to_25_is_refused(score_value):
    with pytest.raises(ValueError, match=f"A score must be from 1 to 25, not {score_value}."):
        band_for(score_value)


def test_bands_cover_1_to_25_without_gap_or_overlap_and_review_more_often_as_they_rise():
    assert [(b.min_score, b.max_score) for b in BANDS] == [(1, 4), (5, 9), (10, 16), (17, 25)]
    assert [b.review_days for b in BANDS] == [365, 180, 90, 30]
    assert {H, C} == risk_scoring.ACCEPTANCE_NEEDS_RISK_OFFICER


@pytest.mark.parametrize(
    "value",
    [0, 6, -1, 2.5, 3.0, "3", True, False, None],
    ids=["0", "6", "-1", "2.5", "3.0", "str", "True", "False", "None"],
)
def test_likelihood_or_impact_outside_1_to_5_or_not_a_whole_number_is_refused(value):
    with pytest.raises(ValueError, match=f"^{re.escape(OUT_OF_SCALE.format(name='Likelihood', value=value))}$"):
        check_scale("Likelihood", value)
    with pytest.raises(ValueError, match=f"^{re.escape(OUT_OF_SCALE.format(name='Impact', value=value))}$"):
        score(3, value)
    assert (
        OUT_OF_SCALE.format(name="Likelihood", value=2.5) == "Likelihood must be a whole number from 1 to 5, not 2.5."
    )


DAY = dt.date(2026, 1, 31)
# (likelihood, impact) on each side of every boundary → the next review date after DAY
REVIEWS = [
    ((1, 1), dt.date(2027, 1, 31)),  # 1 low: 365 days
    ((1, 4), dt.date(2027, 1, 31)),  # 4 low
    ((1, 5), dt.date(2026, 7, 30)),  # 5 medium: 180 days
    ((3, 3), dt.date(2026, 7, 30)),  # 9 medium
    ((2, 5), dt.date(2026, 5, 1)),  # 10 high: 90 days
    ((4, 4), dt.date(2026, 5, 1)),  # 16 high
    ((4, 5), dt.date(2026, 3, 2)),  # 20 critical: 30 days
    ((5, 5), dt.date(2026, 3, 2)),  # 25 critical
]


@pytest.mark.parametrize(("cell", "expected"), REVIEWS, ids=[f"{c[0]}x{c[1]}" for c, _ in REVIEWS])
def test_next_review_date_follows_the_cadence_of_the_level(cell, expected):
    assert next_review(*cell, after=DAY) == expected


EXPLANATIONS = [
    ((1, 1), "Rare (1) × Negligible (1) = 1: Low (1–4), review every 365 days"),
    ((2, 2), "Unlikely (2) × Minor (2) = 4: Low (1–4), review every 365 days"),
    ((1, 5), "Rare (1) × Severe (5) = 5: Medium (5–9), review every 180 days"),
    ((3, 3), "Possible (3) × Moderate (3) = 9: Medium (5–9), review every 180 days"),
    ((5, 2), "Almost certain (5) × Minor (2) = 10: High (10–16), review every 90 days"),
    ((4, 4), "Likely (4) × Major (4) = 16: High (10–16), review every 90 days"),
    ((4, 5), "Likely (4) × Severe (5) = 20: Critical (17–25), review every 30 days"),
    ((5, 5), "Almost certain (5) × Severe (5) = 25: Critical (17–25), review every 30 days"),
]


@pytest.mark.parametrize(("cell", "text"), EXPLANATIONS, ids=[f"{c[0]}x{c[1]}" for c, _ in EXPLANATIONS])
def test_explain_says_how_the_score_and_level_came_about(cell, text):
    assert explain(*cell) == text


def test_explain_refuses_a_value_off_the_scale():
    with pytest.raises(ValueError, match=r"^Likelihood must be a whole number from 1 to 5, not 0\.$"):
        explain(0, 3)
