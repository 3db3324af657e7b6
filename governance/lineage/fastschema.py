"""A fast yes/no for the OpenLineage spec schemas, so a valid event costs microseconds, not milliseconds.

jsonschema walks a schema through a generic machinery (a validator object per step, a registry lookup
per `$ref`): ~1-2 ms per facet, most of an event's receive time. This compiles a schema once into plain
Python closures for the keywords the spec files use (type, properties, required, additionalProperties,
items, allOf, anyOf, oneOf, not, enum, const, dependentRequired, minimum, $ref), with the same meaning
as jsonschema's Draft 2020-12 validator without a format checker (as validation.py builds it: `format`
is an annotation there, so it is one here).

It only ever answers "valid": when it says no, or meets a keyword it does not know, validation.py asks
jsonschema, which gives the messages — so a gap here costs speed, never a wrong acceptance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from referencing import Registry

Check = Callable[[Any], bool]

# Keywords that say nothing about validity (format included: no format checker is used).
ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "$defs", "definitions", "$comment", "title", "description", "default", "examples",
        "example", "deprecated", "readOnly", "writeOnly", "format", "$anchor",
    }
)  # fmt: skip


_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})


def _never(instance: Any) -> bool:
    return False


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,  # parsed JSON: exactly dict, list, str, int, float, bool, None
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": lambda x: (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()),
}


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, and containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


class Compiler:
    def __init__(self, registry: Registry):
        self.registry = registry
        self.compiled: dict[int, Check] = {}
        self.entry: dict[str, Check] = {}
        self.in_progress: set[int] = set()

    def check_for(self, ref: str) -> Check:
        """The check of the schema at absolute URI `ref`, compiled once."""
        if ref not in self.entry:
            self.entry[ref] = self._ref(ref, self.registry.resolver())
        return self.entry[ref]

    def _ref(self, ref: str, resolver) -> Check:
        """A $ref: compiled once per target schema (keyed by the target's identity). The compiled check
        itself when it is ready (one call less per reference on the hot path); a recursive one (nested
        schema fields) goes through the table, filled by the time it is called."""
        resolved = resolver.lookup(ref)
        key = id(resolved.contents)
        table = self.compiled
        if key not in table:
            table[key] = _never
            self.in_progress.add(key)
            table[key] = self._compile(resolved.contents, resolved.resolver)
            self.in_progress.discard(key)
        if key in self.in_progress:
            return lambda x: table[key](x)
        return table[key]

    def _compile(self, schema: Any, resolver) -> Check:
        if schema is True:
            return lambda x: True
        if schema is False or not isinstance(schema, dict):
            return _never
        fused = self._object(schema, resolver)
        if fused is not None:
            return fused
        checks: list[Check] = []
        for key, value in schema.items():
            if key in ANNOTATIONS:
                continue
            build = getattr(self, f"_kw_{key.lstrip('$')}", None)
            if build is None:
                return _never  # a keyword this compiler does not know: jsonschema decides
            checks.append(build(value, schema, resolver))
        if len(checks) == 1:
            return checks[0]

        def every(x):
            for c in checks:  # noqa: SIM110 - a plain loop: no generator frame per call on the hot path
                if not c(x):
                    return False
            return True

        return every

    def _object(self, schema: dict, resolver) -> Check | None:
        """The commonest shape in the spec ({"type": "object"} with properties, required and
        additionalProperties) as ONE check: what the keyword checks below do together, without a call
        per keyword per object. None for any other shape."""
        keywords = {k for k in schema if k not in ANNOTATIONS}
        if schema.get("type") != "object" or not keywords <= _OBJECT_KEYWORDS:
            return None
        props = tuple((k, self._compile(v, resolver)) for k, v in (schema.get("properties") or {}).items())
        required = frozenset(schema.get("required") or ())
        additional = schema.get("additionalProperties", True)
        known = frozenset(schema.get("properties") or {})
        extra = None if additional is True else self._compile(additional, resolver)

        def obj(x):
            if type(x) is not dict or not required <= x.keys():
                return False
            for k, c in props:
                if k in x and not c(x[k]):
                    return False
            if extra is not None:
                for k, v in x.items():
                    if k not in known and not extra(v):
                        return False
            return True

        return obj

    # --- keywords ---------------------------------------------------------------------------------

    def _kw_ref(self, value, schema, resolver) -> Check:
        return self._ref(value, resolver)

    def _kw_type(self, value, schema, resolver) -> Check:
        names = value if isinstance(value, list) else [value]
        tests = [TYPES[n] for n in names if n in TYPES]
        if len(tests) != len(names):
            return _never
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(t(x) for t in tests)

    def _kw_properties(self, value, schema, resolver) -> Check:
        props = [(k, self._compile(v, resolver)) for k, v in value.items()]

        def properties(x):
            if type(x) is dict:
                for k, c in props:
                    if k in x and not c(x[k]):
                        return False
            return True

        return properties

    def _kw_required(self, value, schema, resolver) -> Check:
        keys = frozenset(value)
        return lambda x: type(x) is not dict or keys <= x.keys()

    def _kw_additionalProperties(self, value, schema, resolver) -> Check:
        if "patternProperties" in schema:
            return _never
        known = frozenset(schema.get("properties") or {})
        if value is True:
            return lambda x: True
        extra = self._compile(value, resolver)

        def additional(x):
            if type(x) is dict:
                for k, v in x.items():
                    if k not in known and not extra(v):
                        return False
            return True

        return additional

    def _kw_items(self, value, schema, resolver) -> Check:
        if "prefixItems" in schema:
            return _never
        each = self._compile(value, resolver)

        def items(x):
            if type(x) is list:
                for v in x:
                    if not each(v):
                        return False
            return True

        return items

    def _kw_allOf(self, value, schema, resolver) -> Check:
        parts = [self._compile(v, resolver) for v in value]

        def all_of(x):
            for p in parts:  # noqa: SIM110 - as in every()
                if not p(x):
                    return False
            return True

        return all_of

    def _kw_anyOf(self, value, schema, resolver) -> Check:
        parts = [self._compile(v, resolver) for v in value]
        return lambda x: any(p(x) for p in parts)

    def _kw_oneOf(self, value, schema, resolver) -> Check:
        parts = [self._compile(v, resolver) for v in value]
        return lambda x: sum(1 for p in parts if p(x)) == 1

    def _kw_not(self, value, schema, resolver) -> Check:
        inner = self._compile(value, resolver)
        return lambda x: not inner(x)

    def _kw_enum(self, value, schema, resolver) -> Check:
        options = list(value)
        return lambda x: any(_equal(x, o) for o in options)

    def _kw_const(self, value, schema, resolver) -> Check:
        return lambda x: _equal(x, value)

    def _kw_dependentRequired(self, value, schema, resolver) -> Check:
        rules = {k: list(v) for k, v in value.items()}
        return lambda x: (
            not isinstance(x, dict) or all(all(d in x for d in deps) for k, deps in rules.items() if k in x)
        )

    def _kw_minimum(self, value, schema, resolver) -> Check:
        return lambda x: not _is_number(x) or x >= value
