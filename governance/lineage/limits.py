"""How big and how deep an OpenLineage event may be, and how its bulky diagnostic facets are stored.

- Bodies: ingest has its own limit (KEEL_LINEAGE_MAX_BODY_BYTES, 16 MiB by default), larger than the
  rest of the API's, because a real Spark event carrying its logical plan runs to megabytes. It holds
  for the body as sent and, for gzip, once expanded: a small archive that inflates without end (a zip
  bomb) is refused as soon as the expansion passes the limit, without inflating the rest.
- Structure: a string or key with NUL (PostgreSQL's JSON cannot hold one, and no identifier needs one)
  or a lone UTF-16 surrogate (JSON's "\\ud800" escape; it is no character, cannot be encoded as UTF-8
  and so cannot be hashed or stored), and nesting deeper than MAX_DEPTH (the schema checks and the
  writers recurse; the bound is core.json_limits', the one every JSON body keeps) are refused, every
  place named. The walk is iterative, so the check itself cannot exhaust the stack.
- Bulky facets: the run and job facets in BULKY_FACETS are diagnostics (Spark's plan tree, its list
  of plan nodes it could not read, a debug dump, a stack trace), not lineage. Past
  KEEL_LINEAGE_FACET_MAX_BYTES they are stored cut down: the facet's small entries kept whole, a long
  list cut to the items that fit, a long text cut, and a `_keelTrimmed` note with the original size,
  the size kept and the SHA-256 of the facet as received (so two events that differ only in the cut
  part still hash differently, and a re-send still hashes alike). Every other facet, above all the
  lineage ones (schema, columnLineage, symlinks, dataSource, datasetType, tags, ownership,
  keelModelVersion…), is kept whole whatever its size.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable
from typing import Any

from core.json_limits import MAX_DEPTH, text_depth

MAX_PROBLEMS = 20
# Run and job facets that are diagnostics, not lineage: stored cut down past the size cap.
BULKY_FACETS = frozenset({"spark.logicalPlan", "spark_unknown", "debug", "errorMessage"})
TRIM_NOTE = "_keelTrimmed"
READ_CHUNK = 64 * 1024
# Room the note and the kept base keys take, so a cut facet stays near the cap.
_NOTE_ROOM = 300

_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(Exception):
    """The body passes the lineage limit, as sent or once expanded."""

    def __init__(self, limit: int, size: int | None = None):
        self.limit, self.size = limit, size
        shown = f"{size}" if size is not None else f"more than {limit}"
        super().__init__(f"Request body too large: {shown} bytes, the limit is {limit} bytes.")


class BodyUnreadable(Exception):
    """A Content-Encoding: gzip body that is not gzip."""


# --- the body -----------------------------------------------------------------------------------


def read_limited(read: Callable[[int], bytes], limit: int) -> bytes:
    """All of a stream, refused (BodyTooLarge) as soon as it passes `limit`: never more is held."""
    chunks, total = [], 0
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)


def gunzip(raw: bytes, limit: int) -> bytes:
    """A gzip body expanded, refused once the expansion passes `limit` (the rest is never inflated)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BodyUnreadable(f"the gzip body cannot be read ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    return out


# --- structure ----------------------------------------------------------------------------------


# The same check read off the JSON text, for the common case: in JSON from UTF-8 bytes a NUL or a
# surrogate can only be written as an escape (a raw control character is invalid JSON, and UTF-8 cannot
# hold a surrogate), so a text without such escapes holds neither; and the nesting is the running count
# of its brackets once the strings are taken out. A match (e.g. an escaped emoji's surrogate pair) only
# means the document is walked.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def text_certainly_fine(text: str) -> bool:
    """True when the (valid) JSON text of a body from UTF-8 bytes holds no NUL, no surrogate and nests
    no deeper than MAX_DEPTH: structure_problems() would find nothing. Several times cheaper than the walk."""
    if _RISKY_ESCAPE.search(text):
        return False
    return text_depth(text) <= MAX_DEPTH


def _clean(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def _fine(document: Any) -> bool:
    """The quick pass (no paths built): nothing nests too deep and every string is clean. It is what
    almost every event takes, so it costs a fraction of the walk that names where a problem sits."""
    stack = [(document, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if isinstance(value, str):
            if not _clean(value):
                return False
        elif isinstance(value, dict):
            if depth > MAX_DEPTH:
                return False
            for key, item in value.items():
                if isinstance(key, str) and not _clean(key):
                    return False
                if isinstance(item, dict | list | str):
                    push((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return False
            for item in value:
                if isinstance(item, dict | list | str):
                    push((item, depth + 1))
    return True


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if _SURROGATE.search(text):
        return "holds a lone UTF-16 surrogate (e.g. \\ud800), which is no character"
    return None


def _shown(path: str) -> str:
    return path or "the body"


def structure_problems(document: Any) -> list[str]:
    """Where the document nests past MAX_DEPTH or holds NUL or lone surrogates; [] when it is fine."""
    if _fine(document):
        return []
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack and len(problems) < MAX_PROBLEMS:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            problems.append(f"{_shown(path)} is nested more than {MAX_DEPTH} levels deep")
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                problem = _string_problem(key) if isinstance(key, str) else None
                if problem:
                    problems.append(f"a key at {_shown(path)} {problem}")
                    continue
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                problems.append(f"{_shown(path)} {problem}")
    return sorted(problems)


# --- bulky facets -------------------------------------------------------------------------------


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _cut_list(items: list, budget: int) -> list:
    kept = []
    for item in items:
        cost = _size(item) + 1
        if cost > budget:
            break
        kept.append(item)
        budget -= cost
    return kept


def _cut(facet: dict, cap: int) -> dict:
    """The facet's entries that fit in `cap` bytes: small ones whole, then a prefix of a list or a text."""
    kept = {key: facet[key] for key in ("_producer", "_schemaURL") if key in facet}
    budget = cap - _size(kept) - _NOTE_ROOM
    for key, value in facet.items():
        if key in kept or budget <= 0:
            continue
        room = budget - len(key.encode()) - 4
        cost = _size(value)
        if cost <= room:
            kept[key] = value
        elif isinstance(value, list):
            kept[key] = _cut_list(value, room)
        elif isinstance(value, str):
            kept[key] = value.encode()[: max(room // 2, 0)].decode("utf-8", "ignore")  # escapes may double it
        else:
            continue  # an object too big to keep: left out, counted in the note's size
        budget -= _size(kept[key]) + len(key.encode()) + 4
    return kept


def trim_bulky_facets(payload: Any, cap: int) -> tuple[Any, list[str]]:
    """The event with each bulky run/job facet past `cap` bytes cut down, and one warning per cut facet.

    The payload given is not changed; the run and job objects of the one returned are copies when a
    facet was cut."""
    if not isinstance(payload, dict):
        return payload, []
    out, warnings = payload, []
    for place in ("run", "job"):
        holder = payload.get(place)
        facets = holder.get("facets") if isinstance(holder, dict) else None
        if not isinstance(facets, dict) or not (BULKY_FACETS & facets.keys()):
            continue
        new_facets, changed = dict(facets), False
        for key in sorted(BULKY_FACETS & facets.keys()):
            facet = facets[key]
            if not isinstance(facet, dict):
                continue
            text = json.dumps(facet, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            if len(text) <= cap:
                continue
            cut = _cut(facet, cap)
            cut[TRIM_NOTE] = {"bytes": len(text), "kept": _size(cut), "sha256": hashlib.sha256(text).hexdigest()}
            new_facets[key], changed = cut, True
            warnings.append(
                f"{place}.facets.{key} is {len(text):,} bytes; stored cut down to {cut[TRIM_NOTE]['kept']:,} "
                f"(KEEL_LINEAGE_FACET_MAX_BYTES = {cap:,}); lineage facets are kept whole"
            )
        if changed:
            out = out if out is not payload else dict(payload)
            out[place] = {**holder, "facets": new_facets}
    return out, warnings
