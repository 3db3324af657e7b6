"""XML read as a stream of events straight from expat, holding nothing but the element being read.

ElementTree's iterparse builds a tree that has to be pruned by hand, and defusedxml's safe variant of it
runs the parser's callbacks in Python; both cost memory or time that a hostile sheet multiplies. Here
expat calls three small handlers, and a tree exists only inside a `keep` element (a cell, a shared
string), whose parts are read when it ends, up to MAX_CELL_PARTS of them. A DTD is refused as soon as it
starts, so no entity is ever declared, let alone expanded or fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from xml.parsers import expat

from .limits import CELL_TOO_COMPLEX, CHUNK, MAX_CELL_PARTS, NO_DTD, SpreadsheetRefused


class Node:
    """An element: its local name, attributes (local names too) and, inside a kept element, its children
    and text."""

    __slots__ = ("attrib", "children", "name", "parts")

    def __init__(self, name: str, attrib: dict[str, str]):
        self.name, self.attrib = name, attrib
        self.children: list[Node] = []
        self.parts: list[str] = []

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.attrib.get(key, default)

    @property
    def text(self) -> str | None:
        return "".join(self.parts) if self.parts else None

    def __iter__(self) -> Iterator[Node]:
        return iter(self.children)


def _refuse_dtd(*_args) -> None:
    raise SpreadsheetRefused(NO_DTD)


def events(read: Callable[[int], bytes], keep: frozenset[str]) -> Iterator[tuple[str, str, Node | None]]:
    """("start", name, node) and ("end", name, node-or-None) of a document read `read(CHUNK)` at a time.
    An end event carries its node only for a kept element; elements inside it give no events."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    pending: list[tuple[str, str, Node | None]] = []
    kept: list[Node] = []  # the open elements of the kept element being read, outermost first
    count = 0
    names: dict[str, str] = {}  # "namespace}local" -> "local": a document uses a few dozen names

    def local(name: str) -> str:
        found = names.get(name)
        if found is None:
            found = names[name] = name.rpartition("}")[2]
        return found

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal count
        for key in attrs:
            if "}" in key:  # a namespaced attribute (r:id): rare, so the others keep expat's dict
                attrs = {local(k): v for k, v in attrs.items()}
                break
        node = Node(names.get(name) or local(name), attrs)
        if kept:
            count += 1
            if count > MAX_CELL_PARTS:
                raise SpreadsheetRefused(CELL_TOO_COMPLEX.format(limit=MAX_CELL_PARTS))
            kept[-1].children.append(node)
            kept.append(node)
            return
        if node.name in keep:
            count = 0
            kept.append(node)
        pending.append(("start", node.name, node))

    def end(name: str) -> None:
        if kept:
            node = kept.pop()
            if not kept:
                pending.append(("end", node.name, node))
            return
        pending.append(("end", names.get(name) or local(name), None))

    def text(data: str) -> None:
        if kept:
            kept[-1].parts.append(data)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse_dtd
    while True:
        chunk = read(CHUNK)
        parser.Parse(chunk, not chunk)
        yield from pending
        pending.clear()
        if not chunk:
            return
