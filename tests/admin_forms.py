"""Posting a Django admin change form as a browser would: its current values, with a test's changes on top."""

from __future__ import annotations


def admin_form_data(response) -> dict:
    """The admin change form's current values as its POST body (split date/time widgets included)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if hasattr(field.widget, "widgets"):  # SplitDateTimeWidget: name_0, name_1
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = str(value)
    return data
