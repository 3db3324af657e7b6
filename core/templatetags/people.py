"""How a page names a person: one filter, so a missing person reads as such instead of breaking the page.

`{{ risk.owner|person }}` gives the full name, or the username; when there is no person (a system
write, an unassigned row) it gives a muted placeholder — "unknown" unless the template names a better
one: `{{ assessment.assessed_by|person:"Keel (system)" }}`. Loaded for every template
(config/settings.py, TEMPLATES builtins).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def person(user, placeholder: str = "unknown") -> str:
    if user is None:
        return format_html('<span class="muted">{}</span>', placeholder)
    return user.get_full_name() or user.get_username()
