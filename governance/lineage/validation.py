"""Is this body an OpenLineage event Keel can take? Checks against the spec's own JSON Schemas.

The schemas in spec/ are the OpenLineage core (2-0-2) and its facet schemas, copied unchanged
(spec/SOURCES.txt). They are loaded into one `referencing.Registry` keyed by `$id`, so the facets'
absolute `$ref`s to the core resolve offline.

What is refused (400, every reason listed):
- anything that is not one JSON object; a missing or empty producer, schemaURL or eventTime;
- a schemaURL naming a spec major version other than 1 or 2 (producers on 1-0-x, e.g. Marquez's
  seed data, and on 2-0-x are both in the field; 1-x RunEvents are valid 2-x RunEvents). A
  schemaURL with no version in it at all is read as the current spec (2-0-2) with a warning;
- an event that is neither a RunEvent (run + job), a JobEvent (job, no run) nor a DatasetEvent;
  a run without runId, a job or dataset without namespace or name;
- matcher placeholders left in an integration-test expectation (`{{ any(result) }}`,
  `${json-unit.any-string}`, `<producer>`);
- a run.runId that is not a UUID (the spec's `format: uuid`; the other formats are not asserted);
- NUL or a lone UTF-16 surrogate in any string or key, nesting deeper than 64 levels (limits.py);
- the envelope failing the core schema;
- a facet that is not an object, and one of the facets ingest reads (schema, columnLineage,
  symlinks, datasetType) that breaks its facet schema.

Other facets are checked too but softly: their problems — and a facet without `_producer` /
`_schemaURL` — come back as warnings, since real producers send imperfect facets and custom ones.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_datetime
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from core.dates import date_outside_window
from core.errors import DomainError

from . import fastschema
from .limits import MAX_DEPTH, structure_problems, text_certainly_fine

SPEC_DIR = Path(__file__).resolve().parent / "spec"
CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
CURRENT_MAJOR, CURRENT_VERSION = 2, "2-0-2"
SUPPORTED_MAJORS = (1, 2)
# The facets ingest reads: a broken one would build a wrong graph, so it is refused.
STRICT_FACETS = frozenset({"schema", "columnLineage", "symlinks", "datasetType"})
# Every facet must carry these (BaseFacet); a missing one is a warning, not a refusal.
BASE_FACET_KEYS = frozenset({"_producer", "_schemaURL"})
# Where a facet sits -> the core definition its schema extends.
FACET_PLACES = {
    "DatasetFacet": "dataset",
    "InputDatasetFacet": "input",
    "OutputDatasetFacet": "output",
    "JobFacet": "job",
    "RunFacet": "run",
}
MAX_REASONS = 20
EXAMPLE_RUN_ID = "0196a1f0-3c2e-7d4a-9b1f-2f5e8c7a6b10"
MAX_NAMESPACE, MAX_NAME = 500, 1000  # the columns of DataSource/Dataset/Job

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SPEC_VERSION = re.compile(r"/spec/(\d+)-(\d+)-(\d+)/OpenLineage\.json")
_PLACEHOLDERS = (
    re.compile(r"\{\{.*?\}\}"),  # Jinja-style matchers: {{ any(result) }}, {{ is_datetime(result) }}
    re.compile(r"\$\{json-unit\.[^}]*\}"),  # json-unit matchers: ${json-unit.any-string}
    re.compile(r"^<[A-Za-z_][\w .-]*>$"),  # "<producer>", "<run id>"
)


class LineageEventInvalid(DomainError):
    """The body is not an event Keel can take; `reasons` lists every problem found."""

    code = "invalid_lineage_event"

    def __init__(self, reasons: list[str], *, code: str | None = None):
        self.reasons = reasons[:MAX_REASONS]
        more = f" (and {len(reasons) - MAX_REASONS} more)" if len(reasons) > MAX_REASONS else ""
        super().__init__("Invalid OpenLineage event: " + "; ".join(self.reasons) + more, code=code)


@dataclass(frozen=True)
class ValidatedEvent:
    """An event that passed: what kind it is, on which spec, and any soft warnings."""

    payload: dict
    kind: str  # "run" | "job" | "dataset"
    spec_major: int
    spec_version: str
    event_time: dt.datetime
    warnings: list[str] = field(default_factory=list)


# --- the schemas ------------------------------------------------------------------------------


@cache
def _registry_and_facets() -> tuple[Registry, dict[tuple[str, str], str]]:
    """All spec files keyed by `$id`, and (place, facet key) -> the facet definition's URI."""
    resources = []
    facets: dict[tuple[str, str], str] = {}
    for path in sorted(SPEC_DIR.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        schema_id = document.get("$id")
        if not schema_id:
            continue  # registry/core/registry.json is a list of facets, not a schema
        resources.append((schema_id, Resource.from_contents(document)))
        for key, ref in (document.get("properties") or {}).items():
            target = (ref or {}).get("$ref", "")
            if not target.startswith("#/$defs/"):
                continue
            definition = document["$defs"][target.removeprefix("#/$defs/")]
            place = _facet_place(definition)
            if place:
                facets[(place, key)] = schema_id + target
    return Registry().with_resources(resources), facets


def _facet_place(definition: dict) -> str | None:
    for part in definition.get("allOf", []):
        ref = part.get("$ref", "")
        if ref.startswith(CORE_ID + "#/$defs/"):
            return FACET_PLACES.get(ref.rsplit("/", 1)[-1])
    return None


@cache
def _fast() -> fastschema.Compiler:
    return fastschema.Compiler(_registry_and_facets()[0])


@cache
def _validator(ref: str) -> Draft202012Validator:
    registry, _ = _registry_and_facets()
    return Draft202012Validator({"$ref": ref}, registry=registry)


def facet_schema_ref(place: str, key: str) -> str | None:
    """The spec definition of facet `key` at `place` (dataset/input/output/job/run), if it is a core facet."""
    return _registry_and_facets()[1].get((place, key))


# --- checks -----------------------------------------------------------------------------------


def parse_body(raw: bytes) -> Any:
    """The JSON in a request body, or a clear refusal; also refused here, before anything hashes or
    walks the document: NUL, lone surrogates and nesting past limits.MAX_DEPTH."""
    from_bytes = isinstance(raw, bytes)
    try:
        text = raw.decode("utf-8") if from_bytes else raw
        document = json.loads(text)
    except UnicodeDecodeError:
        raise LineageEventInvalid(["the body is not UTF-8 text"], code="malformed_json") from None
    except json.JSONDecodeError as exc:
        raise LineageEventInvalid(
            [f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"], code="malformed_json"
        ) from None
    except RecursionError:  # the parser's own guard, hundreds of levels down: far past the bound
        raise LineageEventInvalid([f"the body is nested more than {MAX_DEPTH} levels deep"]) from None
    problems = [] if from_bytes and text_certainly_fine(text) else structure_problems(document)
    if problems:
        raise LineageEventInvalid(problems)
    return document


def spec_version(schema_url: str) -> tuple[int, str] | None:
    """(major, "M-m-p") from a schemaURL like https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent."""
    match = _SPEC_VERSION.search(schema_url)
    if not match:
        return None
    return int(match.group(1)), "-".join(match.groups())


def event_kind(payload: dict) -> str | None:
    """By structure, as the spec's oneOf does: run -> RunEvent, dataset -> DatasetEvent, job alone -> JobEvent."""
    if "run" in payload:
        return "run"
    if "dataset" in payload:
        return "dataset"
    if "job" in payload:
        return "job"
    return None


def parse_event_time(value: Any) -> dt.datetime | None:
    """An ISO-8601 time; one without a zone is read as UTC (some producers omit it)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def find_placeholders(value: Any, path: str = "") -> list[str]:
    """Where matcher placeholders sit in a document, as "path: 'text'"."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_placeholders(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_placeholders(item, f"{path}[{index}]"))
    elif isinstance(value, str) and any(p.search(value) for p in _PLACEHOLDERS):
        shown = value if len(value) <= 60 else value[:57] + "..."
        found.append(f"{path or 'the body'} holds the placeholder {shown!r}")
    return found


def _may_hold_placeholders(payload: Any, text: str | None = None) -> bool:
    """One scan of the JSON text for what every placeholder needs ("{{", "${json-unit.", a string starting
    with "<"): most events have none, and walking every string of a large event costs milliseconds."""
    text = json.dumps(payload, ensure_ascii=False) if text is None else text
    return "{{" in text or "${json-unit." in text or '"<' in text


def _missing(payload: dict, key: str) -> bool:
    value = payload.get(key)
    return value is None or (isinstance(value, str) and not value.strip())


def _envelope_reasons(payload: dict, kind: str | None) -> list[str]:
    reasons = [f"{key} is missing" for key in ("producer", "schemaURL", "eventTime") if _missing(payload, key)]
    when = None if _missing(payload, "eventTime") else parse_event_time(payload["eventTime"])
    if not _missing(payload, "eventTime") and when is None:
        reasons.append(f"eventTime {payload['eventTime']!r} is not an ISO-8601 date-time")
    elif when is not None and (outside := date_outside_window(when.date())):  # year 9999 at -05:00 overflowed
        reasons.append(f"eventTime {payload['eventTime']!r}: {outside}")
    if kind is None:
        reasons.append("the event has no run, job or dataset (a RunEvent needs run and job)")
        return reasons
    if kind == "run":
        run = payload.get("run")
        if not isinstance(run, dict) or _missing(run, "runId"):
            reasons.append("run.runId is missing")
        elif not isinstance(run["runId"], str) or not _UUID.match(run["runId"]):
            shown = run["runId"] if len(str(run["runId"])) <= 60 else str(run["runId"])[:57] + "..."
            reasons.append(f"run.runId {shown!r} is not a UUID (the spec's format, e.g. {EXAMPLE_RUN_ID})")
        if "job" not in payload:
            reasons.append("job is missing (a RunEvent names its job's namespace and name)")
    if kind in ("run", "job") and isinstance(payload.get("job"), dict):
        reasons.extend(f"job.{key} is missing" for key in ("namespace", "name") if _missing(payload["job"], key))
    if kind == "dataset":
        if "job" in payload:
            reasons.append("a DatasetEvent must not have a job")
        if isinstance(payload.get("dataset"), dict):
            reasons.extend(
                f"dataset.{key} is missing" for key in ("namespace", "name") if _missing(payload["dataset"], key)
            )
    for side in ("inputs", "outputs"):
        items = payload.get(side)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    reasons.extend(
                        f"{side}[{index}].{key} is missing" for key in ("namespace", "name") if _missing(item, key)
                    )
    reasons.extend(_too_long(payload))
    return reasons


def _too_long(payload: dict) -> list[str]:
    """Identifiers longer than Keel stores (namespace 500, name 1000 characters) are refused, not cut; and
    ones holding NUL (parse_body refuses NUL anywhere; this covers events built in code)."""
    places = [("job", payload.get("job")), ("dataset", payload.get("dataset"))]
    for side in ("inputs", "outputs"):
        if isinstance(payload.get(side), list):
            places.extend((f"{side}[{i}]", item) for i, item in enumerate(payload[side]))
    out = []
    for where, item in places:
        if not isinstance(item, dict):
            continue
        for key, limit in (("namespace", MAX_NAMESPACE), ("name", MAX_NAME)):
            value = item.get(key)
            if isinstance(value, str) and len(value) > limit:
                out.append(f"{where}.{key} is longer than {limit} characters")
            if isinstance(value, str) and "\x00" in value:
                out.append(f"{where}.{key} holds a NUL character (\\u0000)")
    return out


def _without_facets(payload: dict) -> dict:
    """The envelope with every facet map emptied: facets are checked one by one, more leniently."""
    bare = copy.copy(payload)
    for key in ("run", "job", "dataset"):
        if isinstance(bare.get(key), dict) and "facets" in bare[key]:
            bare[key] = {**bare[key], "facets": {}}
    for side in ("inputs", "outputs"):
        if isinstance(bare.get(side), list):
            bare[side] = [
                {**item, **{k: {} for k in ("facets", "inputFacets", "outputFacets") if k in item}}
                if isinstance(item, dict)
                else item
                for item in bare[side]
            ]
    return bare


def _schema_errors(validator: Draft202012Validator, instance: Any, prefix: str) -> list[tuple[str, Any]]:
    if _fast().check_for(validator.schema["$ref"])(instance):
        return []  # valid: jsonschema (slow) is asked only for the messages of an invalid instance
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        where = f"{prefix}.{where}" if prefix and where else (prefix or where)
        out.append((f"{where}: {error.message}" if where else error.message, error))
    return out


def _facet_maps(payload: dict, kind: str):
    """(place, path, facets dict) for every facet map in the event."""
    if kind == "run" and isinstance(payload.get("run"), dict):
        yield "run", "run.facets", payload["run"].get("facets")
    if isinstance(payload.get("job"), dict):
        yield "job", "job.facets", payload["job"].get("facets")
    if isinstance(payload.get("dataset"), dict):
        yield "dataset", "dataset.facets", payload["dataset"].get("facets")
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for index, item in enumerate(payload.get(side) or []):
            if isinstance(item, dict):
                yield "dataset", f"{side}[{index}].facets", item.get("facets")
                yield side[:-1], f"{side}[{index}].{extra}", item.get(extra)


def _facet_problems(payload: dict, kind: str) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    warnings: list[str] = []
    for place, path, facets in _facet_maps(payload, kind):
        if facets is None:
            continue
        if not isinstance(facets, dict):
            reasons.append(f"{path} must be an object")
            continue
        for key, facet in facets.items():
            where = f"{path}.{key}"
            if not isinstance(facet, dict):
                reasons.append(f"{where} must be an object")
                continue
            if facet.get("_deleted") is True:
                continue  # a deletion marker carries no content to check
            missing_base = sorted(BASE_FACET_KEYS - facet.keys())
            if missing_base:
                warnings.append(f"{where} has no {' or '.join(missing_base)}")
            ref = facet_schema_ref(place, key)
            if ref is None:
                continue  # a custom or vendor facet: kept as opaque JSON
            for message, error in _schema_errors(_validator(ref), facet, where):
                if error.validator == "required" and set(error.validator_value) <= BASE_FACET_KEYS:
                    continue  # already a warning above
                (reasons if place == "dataset" and key in STRICT_FACETS else warnings).append(message)
    return reasons, warnings


def validate_event(payload: Any, text: str | None = None) -> ValidatedEvent:
    """The event, checked; or LineageEventInvalid naming every reason it cannot be taken. `text`: its JSON,
    when the caller has it already (the placeholder scan reads it instead of serialising the event again)."""
    if not isinstance(payload, dict):
        got = "an array" if isinstance(payload, list) else type(payload).__name__
        raise LineageEventInvalid([f"the body must be one OpenLineage event (a JSON object), not {got}"])
    kind = event_kind(payload)
    reasons = _envelope_reasons(payload, kind)
    if _may_hold_placeholders(payload, text):
        reasons.extend(find_placeholders(payload))
    version = None
    unversioned = ""
    if not _missing(payload, "schemaURL"):
        schema_url = payload["schemaURL"]
        if not isinstance(schema_url, str):
            reasons.append("schemaURL must be a string")
        else:
            version = spec_version(schema_url)
        if version is None and isinstance(schema_url, str):
            # Test clients and old producers send URLs without a version (the OpenLineage client's own
            # example event has "http://test.schema.url"): read as the current spec, with a warning.
            version = (CURRENT_MAJOR, CURRENT_VERSION)
            unversioned = f"schemaURL {schema_url!r} names no spec version; checked against {CURRENT_VERSION}"
        elif version is not None and version[0] not in SUPPORTED_MAJORS:
            reasons.append(
                f"spec major version {version[0]} (schemaURL {schema_url!r}) is not supported; "
                "Keel accepts OpenLineage 1-x-x and 2-x-x events"
            )
    if reasons:
        raise LineageEventInvalid(reasons, code=_code_for(reasons))
    definition = {"run": "RunEvent", "job": "JobEvent", "dataset": "DatasetEvent"}[kind]
    envelope_errors = [
        m for m, _ in _schema_errors(_validator(f"{CORE_ID}#/$defs/{definition}"), _without_facets(payload), "")
    ]
    facet_reasons, warnings = _facet_problems(payload, kind)
    if unversioned:
        warnings.insert(0, unversioned)
    if envelope_errors or facet_reasons:
        raise LineageEventInvalid(envelope_errors + facet_reasons)
    major, version_text = version
    return ValidatedEvent(
        payload=payload,
        kind=kind,
        spec_major=major,
        spec_version=version_text,
        event_time=parse_event_time(payload["eventTime"]),
        warnings=warnings,
    )


def _code_for(reasons: list[str]) -> str | None:
    if any("spec major version" in r for r in reasons):
        return "unsupported_spec_version"
    if any("placeholder" in r for r in reasons):
        return "placeholder_values"
    return None
