"""How deep JSON from outside may nest: one bound for the API's parser, the OpenLineage ingest and gate tokens.

Python's json module recurses once per level, so a body of 50,000 "[" raises RecursionError (a 500 when
nothing catches it), and a document a few hundred levels deep parses but then exhausts the stack in
whatever walks it next (serializers, schema validation, hashing). No real input nests past a few dozen
levels, so anything deeper than MAX_DEPTH is refused with a message naming the limit. Both checks here
are loops, never recursion, so the check itself cannot exhaust the stack.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
TOO_DEEP = "the JSON is nested more than {limit} levels deep (the limit is {limit})"


class JSONTooDeep(ValueError):
    """A JSON document nested past MAX_DEPTH (a ValueError, like any other unreadable JSON)."""

    def __init__(self, limit: int = MAX_DEPTH):
        self.limit = limit
        super().__init__(TOO_DEEP.format(limit=limit))


def too_deep(document: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether an object or array sits more than `limit` levels down (the outermost one is level 1).

    Level by level, holding only containers: a 1 MB body of 6,000 flat rows takes about 10 ms."""
    level = [document] if isinstance(document, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list = []
        for value in level:
            below += [c for c in (value.values() if isinstance(value, dict) else value) if isinstance(c, dict | list)]
        level = below
    return False


# What the nesting is read off: the brackets and the quotes (every other byte is dropped at C speed).
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
# Opening brackets as "(", closing ones as ")": in valid JSON they pair up whatever their kind.
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")


def text_depth(text: str) -> int:
    """How deep valid JSON text nests (the outermost object or array is level 1), read off its brackets once
    the strings are taken out: several times cheaper than walking the parsed document. Escaped backslashes
    and then escaped quotes go first (left to right, as JSON reads them), so every quote left opens or
    closes a string; everything but brackets and quotes is dropped; the strings (every other piece between
    quotes) go. Each pass then removes the innermost pairs ("()": containers holding no container) at C
    speed, so the passes are the depth. (A regex taking the strings out of the whole text cost a tenth of an
    OpenLineage POST.)"""
    if "\\" in text:
        text = text.replace("\\\\", "")
    if '\\"' in text:
        text = text.replace('\\"', "")
    kept = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(kept.split(b'"')[::2]).translate(_AS_PARENTHESES)
    depth = 0
    while brackets:
        inner = brackets.replace(b"()", b"")
        if len(inner) == len(brackets):  # unbalanced: not valid JSON (never the case after json.loads)
            return depth + len(brackets)
        brackets = inner
        depth += 1
    return depth


def loads(text: str | bytes, **kwargs) -> Any:
    """json.loads, refusing (JSONTooDeep) a document nested past MAX_DEPTH instead of crashing on it."""
    try:
        document = json.loads(text, **kwargs)
    except RecursionError:  # the C parser's own guard, about a thousand levels down: far past the bound
        raise JSONTooDeep from None
    if text_depth(text.decode(json.detect_encoding(text)) if isinstance(text, bytes) else text) > MAX_DEPTH:
        raise JSONTooDeep
    return document
