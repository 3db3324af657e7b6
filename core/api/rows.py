"""An API list's rows built in one tight loop, the same JSON as the list's serializer (issue #15).

DRF builds a row field by field through generic machinery: each of a risk page's ~1,800 values goes
through `Field.get_attribute` (a `Mapping` check, a callable check and exception handling per
step of the source), `_readable_fields`, the `None` check and `to_representation`, and every request
first deep-copies and rebuilds the serializer's fields. Building a risks page's rows this way instead
took its CPU from 12.7 to 9.6 ms in-process (docs/benchmarks.md, "API lists").

`row_plan(serializer_class)` reads the serializer's fields once and keeps, for each, the cheapest way
to produce exactly what DRF produces (a row is then straight-line code, compiled once per plan:
`_compile_row`):

- a field whose output depends on the value alone (`VALUE_ONLY`: DRF's plain fields and subclasses that
  override neither `get_attribute` nor `to_representation`) is read with `operator.attrgetter` over its
  source and converted by a builtin (`str`, `int`) or the field's own `to_representation`;
- a `SerializerMethodField` calls the request's serializer's method;
- a field with a `row_converter()` method (Keel's hyperlink, label and month fields) is bound to the
  request's serializer, as DRF binds it, and says how to convert a value for the whole page; one that also
  says `row_value_only = True` (its output depends on the value alone) is read like a plain field, its
  converter taken from the plan's unbound field (a bound copy of a label field cost ~60 µs a request);
- a nested serializer (`many=True` or not) gets its own plan;
- any other field goes through DRF as before, bound to the request's serializer: unknown means slower,
  never different.

Where the fast read meets anything unusual (an exception, a missing related row, a callable other than
a model method without arguments), that value is read through DRF's `get_attribute` instead, so
defaults, `allow_null`, skipped keys and `ObjectDoesNotExist` behave as in DRF. A serializer that
customizes how its fields are built or represented gets no plan: DRF serializes it as before.
tests/core/test_api_rows.py holds the plans to DRF's output; tests/governance/test_api_list_rows.py
holds every list to it.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import functools
import types
from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.db.models.manager import BaseManager
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnList

from core.prefetch import lean_page

# What DRF's `get_attribute` would call rather than return (rest_framework.fields.is_simple_callable).
_CALLABLES = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial)


def _identity(value):
    return value


def _own(field):
    return field.to_representation


def _own_converter(field):
    return field.row_converter()


def _bigint(field):
    coerce = getattr(field, "coerce_to_string", drf_fields.api_settings.COERCE_BIGINT_TO_STRING)
    return str if coerce else int


def _datetime(field) -> Callable:
    """DateTimeField.to_representation with the request's time zone looked up once per page, not per value
    (the common case: ISO 8601 out of an aware datetime; anything else is the field's own)."""
    output_format = getattr(field, "format", drf_fields.api_settings.DATETIME_FORMAT)
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None or output_format is None or output_format.lower() != drf_fields.ISO_8601:
        return field.to_representation
    slow = field.to_representation
    # A value already in the zone (or in UTC, when the zone is UTC: Django's zone for "UTC" is a ZoneInfo, the
    # database's is datetime.UTC) has the wall time and offset astimezone would give it.
    utc = dt.UTC if getattr(zone, "key", None) in ("UTC", "Etc/UTC") else zone

    def convert(value):
        tz = value.tzinfo if value.__class__ is dt.datetime else None
        if tz is not None and (tz is zone or tz is utc):
            text = value.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if value.__class__ is str or value.utcoffset() is None:
            return slow(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return slow(value)  # the field's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _decimal(field) -> Callable:
    """DecimalField.to_representation with its quantum and context made once per page, not per value (DRF
    copies the thread's decimal context and raises 0.1 to the places for every value): the same quantize
    and format for the common case (a string out of a Decimal, not localized or normalized)."""
    coerce = getattr(field, "coerce_to_string", drf_fields.api_settings.COERCE_DECIMAL_TO_STRING)
    if not coerce or field.localize or field.normalize_output or field.decimal_places is None:
        return field.to_representation
    quantum = Decimal(".1") ** field.decimal_places
    context = decimal.getcontext().copy()
    if field.max_digits is not None:
        context.prec = field.max_digits
    rounding, slow = field.rounding, field.to_representation

    def convert(value):
        if value.__class__ is not Decimal:
            return slow(value)
        return f"{value.quantize(quantum, rounding=rounding, context=context):f}"

    return convert


def _json(field):
    return field.to_representation if field.binary else _identity


def _list(field):
    make = _value_only(field.child)
    if make is None:
        return field.to_representation
    convert = make(field.child)
    return lambda data: [convert(item) if item is not None else None for item in data]


def _slug(field):
    return attrgetter(field.slug_field.replace("__", "."))


# DRF field classes whose output depends on the value alone, and how to convert a value as their
# to_representation does, given the field (a subclass qualifies when it overrides neither
# to_representation nor get_attribute: see _value_only).
VALUE_ONLY: dict[type, Callable] = {
    serializers.CharField: lambda f: str,
    serializers.IntegerField: lambda f: int,
    serializers.BigIntegerField: _bigint,
    serializers.FloatField: lambda f: float,
    serializers.ReadOnlyField: lambda f: _identity,
    serializers.BooleanField: _own,
    serializers.ChoiceField: _own,
    serializers.DecimalField: _decimal,
    serializers.DateField: _own,
    serializers.TimeField: _own,
    serializers.UUIDField: _own,
    serializers.DurationField: _own,
    serializers.DateTimeField: _datetime,
    serializers.JSONField: _json,
    serializers.DictField: _own,
    serializers.ListField: _list,
    relations.SlugRelatedField: _slug,
}


def _value_only(field) -> Callable | None:
    """How to make the converter of a field whose output depends on the value alone, else None."""
    for klass in type(field).__mro__:
        if klass in VALUE_ONLY:
            return VALUE_ONLY[klass]
        if "to_representation" in klass.__dict__ or "get_attribute" in klass.__dict__:
            return None
    return None


def _plain(serializer_class: type) -> bool:
    """Whether the class builds and represents its fields as DRF's Serializer/ModelSerializer do."""
    return (
        serializer_class.to_representation is serializers.Serializer.to_representation
        and serializer_class.get_fields in (serializers.Serializer.get_fields, serializers.ModelSerializer.get_fields)
        and serializer_class.fields is serializers.Serializer.fields
        and serializer_class._readable_fields is serializers.Serializer._readable_fields
    )


def _drf_value(field, obj):
    """One value as Serializer.to_representation makes it; SkipField when DRF leaves the key out."""
    attribute = field.get_attribute(obj)
    check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
    return None if check_for_none is None else field.to_representation(attribute)


def _simple_method(value, verdicts: dict) -> bool:
    """Whether DRF would call `value` (a bound method) with no arguments; decided once per function."""
    if type(value) is not types.MethodType:
        return False
    verdict = verdicts.get(value.__func__)
    if verdict is None:
        try:
            verdict = verdicts[value.__func__] = drf_fields.is_simple_callable(value)
        except drf_fields.BuiltinSignatureError:
            verdict = False
    return verdict


def _fast_step(field, get: Callable, convert: Callable, verdicts: dict) -> Callable:
    def step(obj):
        try:
            value = get(obj)
        except Exception:  # DRF decides: a default, None, a skipped key or its own error
            return _drf_value(field, obj)
        if isinstance(value, _CALLABLES):  # DRF calls these (a model method with no arguments)
            if len(field.source_attrs) != 1 or not _simple_method(value, verdicts):
                return _drf_value(field, obj)
            try:
                value = value()
            except (AttributeError, KeyError):
                return _drf_value(field, obj)  # DRF's ValueError
        if value is None:
            return None
        return convert(value)

    return step


def _getter(field) -> Callable:
    return attrgetter(".".join(field.source_attrs)) if field.source_attrs else _identity


class RowPlan:
    """How to build a row of one serializer class; `bind(serializer)` makes the row function for a request."""

    def __init__(self, serializer_class: type):
        template = serializer_class()
        self.verdicts: dict = {}  # function -> whether DRF calls it (shared: the same for every request)
        self.parts: list[tuple[str, str, Any, Any]] = []  # (key, kind, template field, nested plan or converter)
        self.make_row: Callable | None = None  # _compile_row(self.parts), on the first bind
        for field in template._readable_fields:
            self.parts.append((field.field_name, *self._part(field)))

    @staticmethod
    def _part(field) -> tuple[str, Any, Any]:
        if isinstance(field, serializers.ListSerializer):
            child = row_plan(type(field.child))
            if child is not None and type(field).to_representation is serializers.ListSerializer.to_representation:
                return "many", field, child
        elif isinstance(field, serializers.BaseSerializer):
            nested = row_plan(type(field))
            if nested is not None:
                return "one", field, nested
        elif type(field) is serializers.SerializerMethodField:
            return "method", field, None
        elif (make := _value_only(field)) is not None:
            return "value", field, make
        elif getattr(field, "row_value_only", False):  # its converter needs no binding: made once a page
            return "value", field, _own_converter
        elif hasattr(field, "row_converter"):
            return "own", field, None
        return "drf", field, None

    def bind(self, serializer) -> Callable[[Any], dict]:
        """The row function for `serializer` (an instance of the planned class, in its request's context)."""
        args = []
        for name, kind, template, extra in self.parts:
            if kind == "value":
                get, convert = _getter(template), extra(template)
                args += [get, convert, _fast_step(template, get, convert, self.verdicts)]
                continue
            if kind == "method":  # SerializerMethodField: source "*" (the row itself), the serializer's method
                args.append(getattr(serializer, template.method_name))
                continue
            field = copy.deepcopy(template)  # bound to this request's serializer, as DRF binds its fields
            field.bind(field_name=name, parent=serializer)
            convert = None
            if kind == "many":
                convert = functools.partial(_many, extra.bind(field.child))
            elif kind == "one":
                convert = extra.bind(field)
            elif kind == "own":
                convert = field.row_converter()
            if convert is None:
                args.append(functools.partial(_drf_value, field))
            else:
                args.append(_fast_step(field, _getter(field), convert, self.verdicts))
        if self.make_row is None:
            self.make_row = _compile_row(self.parts)
        return self.make_row(*args)


_MISS = object()  # a generated row's marker: the fast read raised
# Classes of the values most sources hold, none of them callable: the callable check can skip them.
_PLAIN = frozenset({str, int, bool, float, Decimal, dt.datetime, dt.date, list, dict})


def _compile_row(parts) -> Callable:
    """`make(*args) -> row(obj)`: the row function as straight-line code, one block per key, made once per
    plan (a loop over per-key step functions spent more on the calls than on the values).

    A value key reads its source (`g`) and converts it (`c`) inline; anything unusual (the read raised, a
    callable to call) goes to its step (`s`, _fast_step: DRF's way), as does every other kind of key. A
    SkipField leaves the key out, as DRF does."""
    lines, params = ["    def row(obj):", "        out = {}"], []
    for i, (name, kind, _template, extra) in enumerate(parts):
        key = repr(name)
        if kind == "value":
            params += [f"g{i}", f"c{i}", f"s{i}"]
            identity = extra is VALUE_ONLY[serializers.ReadOnlyField]
            lines += [
                "        try:",
                "            try:",
                f"                v = g{i}(obj)",
                "            except Exception:",
                "                v = _MISS",
                "            if v is None:",
                f"                out[{key}] = None",
                "            elif v is _MISS or (v.__class__ not in _PLAIN and isinstance(v, _CALLABLES)):",
                f"                out[{key}] = s{i}(obj)",
                "            else:",
                f"                out[{key}] = {'v' if identity else f'c{i}(v)'}",
                "        except SkipField:",
                "            pass",
            ]
        else:
            params.append(f"s{i}")
            lines += [
                "        try:",
                f"            out[{key}] = s{i}(obj)",
                "        except SkipField:",
                "            pass",
            ]
    lines += ["        return out", "    return row"]
    source = "\n".join([f"def make({', '.join(params)}):", *lines])
    namespace = {"_MISS": _MISS, "_PLAIN": _PLAIN, "_CALLABLES": _CALLABLES, "SkipField": SkipField}
    exec(compile(source, "<core.api.rows row>", "exec"), namespace)  # noqa: S102 - our own source: keys are repr()s
    return namespace["make"]


def _many(build: Callable, data) -> list:
    return [build(item) for item in (data.all() if isinstance(data, BaseManager) else data)]


_PLANS: dict[type, RowPlan | None] = {}


def row_plan(serializer_class: type) -> RowPlan | None:
    """The class's plan (made once), or None when DRF must serialize it itself."""
    if serializer_class not in _PLANS:
        plan = None
        if _plain(serializer_class):
            try:
                plan = RowPlan(serializer_class)
            except Exception:  # e.g. a serializer that needs arguments to be made: DRF serializes it
                plan = None
        _PLANS[serializer_class] = plan
    return _PLANS[serializer_class]


def list_rows(serializer: serializers.ListSerializer) -> list:
    """`serializer.data` for a `many=True` serializer, built by the child class's plan when it has one."""
    plan = None
    if type(serializer).to_representation is serializers.ListSerializer.to_representation:
        plan = row_plan(type(serializer.child))
    if plan is None:
        return serializer.data
    build = plan.bind(serializer.child)
    data = serializer.instance
    return ReturnList(_many(build, data), serializer=serializer)


class RowListMixin:
    """`list()` as DRF's ListModelMixin has it, the page's instances made lean (core.queries.lean) and its
    rows built by `list_rows`: put it first in a viewset's bases; tests/governance/test_api_list_rows.py
    holds each such list to DRF's own output from instances the ORM made."""

    def list(self, request, *args, **kwargs):
        queryset = lean_page(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(list_rows(self.get_serializer(page, many=True)))
        return Response(list_rows(self.get_serializer(queryset, many=True)))
