"""The fast yes/no of governance/lineage/fastschema.py against jsonschema itself, on every real event and
facet in tests/fixtures/openlineage/ and on broken copies of each: it may only say "valid" where jsonschema
does (else an invalid event would be accepted), and should agree everywhere (else it is slow for nothing)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from governance.lineage import validation
from governance.lineage.fastschema import Compiler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openlineage"
BREAKERS = (None, 12345, 1.5, True, "x", [], {}, [{"bad": 1}])


def _instances():
    """(schema ref, instance) for every facet with a spec schema and every event's bare envelope."""
    for path in sorted(FIXTURES.rglob("*.json")):
        document = json.loads(path.read_text())
        for payload in document if isinstance(document, list) else [document]:
            if not isinstance(payload, dict):
                continue
            kind = "dataset" if "dataset" in payload else ("run" if "run" in payload else "job")
            definition = {"run": "RunEvent", "job": "JobEvent", "dataset": "DatasetEvent"}[kind]
            yield path.name, f"{validation.CORE_ID}#/$defs/{definition}", validation._without_facets(payload)
            for place, where, facets in validation._facet_maps(payload, kind):
                for key, facet in (facets or {}).items() if isinstance(facets, dict) else ():
                    ref = validation.facet_schema_ref(place, key)
                    if ref is not None and isinstance(facet, dict):
                        yield f"{path.name}:{where}.{key}", ref, facet


def _broken(instance):
    """Copies of the instance with one property (at the top or one level down) replaced or removed."""
    if not isinstance(instance, dict):
        return
    for key in list(instance):
        removed = copy.deepcopy(instance)
        del removed[key]
        yield removed
        for value in BREAKERS:
            yield {**copy.deepcopy(instance), key: value}
        inner = instance[key]
        if isinstance(inner, dict):
            for sub in list(inner)[:10]:
                for value in BREAKERS[:3]:
                    yield {**copy.deepcopy(instance), key: {**inner, sub: value}}
        if isinstance(inner, list) and inner and isinstance(inner[0], dict):
            for sub in list(inner[0])[:10]:
                for value in BREAKERS[:3]:
                    yield {**copy.deepcopy(instance), key: [{**inner[0], sub: value}, *inner[1:]]}


def test_the_fast_check_agrees_with_jsonschema_on_every_fixture_and_its_broken_copies():
    compiler = Compiler(validation._registry_and_facets()[0])
    compared = disagreements = 0
    wrongly_valid = []
    for name, ref, instance in _instances():
        for candidate in [instance, *_broken(instance)]:
            fast = compiler.check_for(ref)(candidate)
            slow = validation._validator(ref).is_valid(candidate)
            compared += 1
            if fast and not slow:
                wrongly_valid.append((name, candidate))
            disagreements += fast != slow
    assert not wrongly_valid, wrongly_valid[:3]
    assert compared > 1000
    assert disagreements == 0


@pytest.mark.parametrize(
    ("value", "schema", "valid"),
    [
        (1, {"type": "integer"}, True),
        (1.0, {"type": "integer"}, True),
        (True, {"type": "integer"}, False),
        (True, {"enum": [1]}, False),
        (1, {"const": 1.0}, True),
        ({"a": 1}, {"additionalProperties": False, "properties": {"a": {}}}, True),
        ({"b": 1}, {"additionalProperties": False, "properties": {"a": {}}}, False),
        (3, {"oneOf": [{"type": "integer"}, {"type": "number"}]}, False),
        ({"a": 1}, {"dependentRequired": {"a": ["b"]}}, False),
        ("x", {"pattern": "^x$"}, False),  # a keyword it does not compile: "not known valid", jsonschema decides
    ],
)
def test_keywords_mean_what_they_mean_in_jsonschema(value, schema, valid):
    from referencing import Registry, Resource

    registry = Registry().with_resource(
        "urn:t",
        Resource.from_contents({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"s": schema}}),
    )
    assert Compiler(registry).check_for("urn:t#/$defs/s")(value) is valid
