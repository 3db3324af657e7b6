"""The dates Keel accepts from people and files: a window around today, one rule for every form,
serializer and import that takes a date or a month.

Before it, a typo such as 9999-12 or 0001-01 was stored like any month, and one far-future actual ROI
entry made the dashboard ten times slower (every figure runs from the first to the last month). The
window runs from 1 January of KEEL_DATE_MIN_YEAR to 31 December of this year plus
KEEL_DATE_MAX_YEARS_AHEAD; it moves on with the calendar, so a date valid when typed stays valid.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

DATE_OUT_OF_WINDOW = "{value} is outside the dates Keel accepts: give a date from {first} to {last}."
MONTH_OUT_OF_WINDOW = "{value} is outside the months Keel accepts: give a month from {first} to {last}."
CODE = "date_out_of_window"
INSTANT_UNREPRESENTABLE = "{value} is outside the times Keel can compare: give an instant from year 1 to 9999 in UTC."


def date_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last date accepted (inclusive)."""
    today = today or timezone.localdate()
    last_year = min(today.year + settings.KEEL_DATE_MAX_YEARS_AHEAD, dt.MAXYEAR)
    return dt.date(max(settings.KEEL_DATE_MIN_YEAR, dt.MINYEAR), 1, 1), dt.date(last_year, 12, 31)


def _month(value: dt.date) -> str:
    return f"{value.year:04d}-{value.month:02d}"  # strftime's %Y does not pad years before 1000


def validate_date(value: dt.date | None) -> None:
    """A validator (model field, form field, serializer field): refuses a date outside date_window()."""
    if value is None:
        return
    first, last = date_window()
    if not first <= value <= last:
        raise ValidationError(
            DATE_OUT_OF_WINDOW.format(value=value.isoformat(), first=first.isoformat(), last=last.isoformat()),
            code=CODE,
        )


def date_outside_window(value: dt.date) -> str | None:
    """validate_date's message for `value`, or None when it is inside the window (for checks that list reasons)."""
    try:
        validate_date(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def validate_month(value: dt.date | None) -> None:
    """validate_date, worded for a month (a date on day 1) and naming months: 9999-12, 2000-01 … 2036-12."""
    if value is None:
        return
    first, last = date_window()
    if not first <= value <= last:
        raise ValidationError(
            MONTH_OUT_OF_WINDOW.format(value=_month(value), first=_month(first), last=_month(last)),
            code=CODE,
        )


class InstantField(IsoDateTimeField):
    """An ISO 8601 instant for a filter. Any instant may be asked about (it stores nothing), but one whose
    offset pushes it past year 9999 or before year 1 in UTC (9999-12-31T23:59:59-05:00) used to overflow
    when the database converted it: a 500. It is the field's error instead. Others are given in UTC."""

    default_error_messages = {"unrepresentable": INSTANT_UNREPRESENTABLE}

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            # In UTC: PostgreSQL takes offsets only up to ±15:59, Python's up to ±23:59 (+16:33 was a 500).
            return instant.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError(
                self.error_messages["unrepresentable"].format(value=value), code="unrepresentable"
            ) from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField
