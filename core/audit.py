"""The audit port: every service records its write here, inside its own transaction.

The hash-chained trail itself lives in governance (governance/audit/chain.py), which registers its writer
when the app loads. projects and core call this module, so they never import governance (the
dependency runs governance → projects → core). With no writer registered a write fails loudly:
an unaudited write is worse than a refused one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

NO_WRITER = "No audit writer is registered; is 'governance' in INSTALLED_APPS?"
_writer: Callable[..., Any] | None = None
_many_writer: Callable[[list[dict]], Any] | None = None


def register_writer(writer: Callable[..., Any], many: Callable[[list[dict]], Any] | None = None) -> None:
    """`writer` appends one event; `many`, if given, appends a list of them in one go (its result unused)."""
    global _writer, _many_writer
    _writer, _many_writer = writer, many


def record(**event):
    """Append one audit event for a write that the caller is making in the current transaction.
    Takes entry()'s arguments: actor, action, and obj (or object_type and object_id), before, after."""
    if _writer is None:
        raise ImproperlyConfigured(NO_WRITER)
    return _writer(**_resolved(entry(**event)))


def entry(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> dict:
    """One pending event for record_many, with record()'s arguments. `obj`'s id is read when the
    list is recorded, so an entry may name an object that is saved (bulk-created) after it."""
    return {
        "actor": actor, "action": action, "obj": obj, "object_type": object_type, "object_id": object_id,
        "before": before, "after": after,
    }  # fmt: skip


def record_many(entries: Iterable[dict]) -> None:
    """Append one audit event per entry (see entry()), in order, for writes the caller made in the
    current transaction. The same events as calling record() for each, written in one go."""
    if _writer is None:
        raise ImproperlyConfigured(NO_WRITER)
    resolved = [_resolved(e) for e in entries]
    if _many_writer is None:
        for r in resolved:
            _writer(**r)
    else:
        _many_writer(resolved)


def _resolved(e: dict) -> dict:
    """An entry as the writer takes it: the object named by its type and id."""
    obj = e.get("obj")
    object_type, object_id = e.get("object_type", ""), e.get("object_id", "")
    if obj is not None:
        if obj.pk is None:
            raise ValueError(f"audit: the {obj._meta.label} of {e['action']!r} was never saved")
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return {
        "actor": e["actor"], "action": e["action"], "object_type": object_type, "object_id": object_id,
        "before": e.get("before"), "after": e.get("after"),
    }  # fmt: skip


def json_value(value: Any) -> Any:
    """A JSON-safe, exact rendering: money stays a decimal string, times are ISO-8601."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The before/after picture of a model for the audit trail (foreign keys as their ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            out[name] = sorted(o.pk for o in getattr(obj, name).all()) if obj.pk else []
        elif field.is_relation:
            out[name] = getattr(obj, field.attname)
        elif isinstance(field, models.DecimalField) and getattr(obj, name) is not None:
            # At the stored precision, so a form's "5" and the database's 5.00 are one value, not a change.
            value = field.to_python(getattr(obj, name))
            out[name] = json_value(value.quantize(decimal.Decimal(1).scaleb(-field.decimal_places)))
        else:
            out[name] = json_value(getattr(obj, name))
    return out


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, so an audit row says what changed rather than everything."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
