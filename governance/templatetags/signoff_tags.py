"""Sign-off fragments that projects' pages include (registered in governance/extensions.py)."""

from __future__ import annotations

from django import template
from django.conf import settings

from projects.models import RegisteredModel

from ..signoff.champions import comparisons

register = template.Library()


@register.inclusion_tag("governance/partials/_champion_challenger.html")
def champion_challenger(project) -> dict:
    """The project's models: the version holding each alias, the champion against each challenger. The page
    that includes it has already checked that the viewer may see the project."""
    return {
        "comparisons": comparisons(RegisteredModel.objects.filter(project=project)),
        "production_aliases": settings.KEEL_PRODUCTION_ALIASES,
    }
