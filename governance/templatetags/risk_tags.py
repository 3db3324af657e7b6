"""How a risk score came about, next to every score: the computation and the bands, from
governance/risks/scoring.py."""

from __future__ import annotations

from django import template

from ..risks import scoring

register = template.Library()


@register.filter
def inherent_explain(risk) -> str:
    return scoring.explain(risk.likelihood, risk.impact)


@register.filter
def residual_explain(risk) -> str:
    return scoring.explain(risk.residual_likelihood, risk.residual_impact)


@register.filter
def level_label(value: str) -> str:
    try:
        return scoring.Level(value).label
    except ValueError:
        return value


@register.inclusion_tag("governance/partials/_score_bands.html")
def score_bands():
    """The score bands legend, straight from scoring.BANDS, so the page cannot drift from the rules."""
    return {
        "bands": scoring.BANDS,
        "needs_officer": [b.level.label for b in scoring.BANDS if b.level in scoring.ACCEPTANCE_NEEDS_RISK_OFFICER],
    }
