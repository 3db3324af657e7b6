"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .errors import DomainError


def apply_service_errors(form, exc: Exception) -> None:
    """Show a service's refusal on the form, next to the field it concerns (or above the form)."""
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, DomainError):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    else:
        form.add_error(None, str(exc))


def checkboxes() -> forms.CheckboxSelectMultiple:
    """The widget list pages use for a multiple choice filter: a row of checkboxes (the API takes repeated
    parameters either way). One home, so every page's filters look and behave alike."""
    return forms.CheckboxSelectMultiple(attrs={"class": "checks"})
