"""How old a piece of data is, in words a reader takes in at a glance."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def age(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "8 seconds", "3 minutes", "2 hours, 5 minutes": Django's timesince, but it never says "0 minutes"."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return f"{seconds}\xa0second{'' if seconds == 1 else 's'}"
    return timesince(value, now)
