"""An id read from a query string, a form or a URL: a whole number the database can hold, or a clear refusal.

Ids typed by clients used to reach the database as whatever Python made of them: "1e30" and
99999999999999999999 overflowed SQLite's 64-bit integers (a 500), "1.5" and "-1" quietly matched
nothing. Every place that reads an id from outside parses it here instead.
"""

from __future__ import annotations

import django_filters
from django import forms

# BigAutoField's largest value, and SQLite's largest integer.
MAX_ID = 2**63 - 1
BAD_ID = f"Give an id as a whole number from 1 to {MAX_ID}."


def parse_id(value: object) -> int | None:
    """The id in `value` (digits only, 1 … MAX_ID), or None when it is anything else."""
    text = str(value).strip() if value is not None else ""
    # isascii: str.isdigit also accepts digits such as "²"; the length check keeps int() off huge strings.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class IdField(forms.Field):
    """A form field for an id: blank is None, anything parse_id refuses is BAD_ID."""

    widget = forms.NumberInput(attrs={"min": 1, "step": 1})
    default_error_messages = {"invalid": BAD_ID}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_id(value)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class IdFilter(django_filters.NumberFilter):
    """Filter by an id (a foreign key's column): a value that is no id is the filter form's error — the
    page shows it with no rows, the API answers 400 — instead of a database error or a silent miss."""

    field_class = IdField
