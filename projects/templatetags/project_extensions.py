"""Template side of projects/extensions.py: the project tabs and the widgets of a slot."""

from __future__ import annotations

from django import template
from django.urls import reverse

from ..extensions import project_tabs, widgets

register = template.Library()


@register.inclusion_tag("projects/partials/_tabs.html", takes_context=True)
def project_tab_list(context, project):
    """The tabs of `project`'s pages, each with its link and whether it is the page shown."""
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.url_name if match else None
    return {
        "tabs": [
            {"label": tab.label, "href": reverse(tab.url_name, args=[project.slug]), "current": current in tab.current}
            for tab in project_tabs()
        ]
    }


@register.simple_tag
def slot_widgets(slot):
    """The templates registered for `slot`, to {% include %} one by one with the page's context."""
    return widgets(slot)
