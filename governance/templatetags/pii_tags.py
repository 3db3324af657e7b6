"""How each hop of a PII label's path carried it, in words (governance/compliance/propagation.py)."""

from __future__ import annotations

from django import template

from ..compliance import propagation

register = template.Library()


@register.filter
def hop_caption(hop) -> str:
    return propagation.hop_caption(hop) if isinstance(hop, dict) else ""
