"""XLSX uploads: the archive opened, the parts an import needs streamed, every byte counted."""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterator
from xml.parsers import expat

from .cells import CellReader
from .limits import (
    CHUNK,
    EXPANDS_TOO_FAR,
    MAX_ENTRIES,
    NOT_READABLE,
    NOT_XLSX,
    RATIO_FLOOR,
    RATIO_TOO_HIGH,
    TOO_MANY_ENTRIES,
    Bounds,
    Clock,
    SpreadsheetRefused,
)
from .xmlstream import Node, events

# What zipfile raises on a damaged archive or part: a bad directory or header (BadZipFile, ValueError,
# struct.error, EOFError), a wrong CRC (BadZipFile), corrupt or truncated deflate data (zlib.error,
# EOFError), an encrypted part or an unknown method or version (RuntimeError, NotImplementedError).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError,
              struct.error)  # fmt: skip


def xlsx_rows(data: bytes, bounds: Bounds) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of every row of the workbook's first sheet that holds a value; values are
    str, int, float, bool or datetime (a number in a date format), None for an empty cell."""
    if data[:4] != b"PK\x03\x04":
        raise SpreadsheetRefused(NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        raise SpreadsheetRefused(NOT_XLSX) from None
    with archive:
        try:
            yield from _Package(archive, bounds).first_sheet_rows()
        except SpreadsheetRefused:
            raise
        except ZIP_ERRORS as exc:
            raise SpreadsheetRefused(NOT_READABLE.format(reason=str(exc)[:120] or type(exc).__name__)) from None


class _Part:
    """One zip entry inflated in chunks, its actual bytes counted against the import's budget."""

    def __init__(self, package: _Package, info: zipfile.ZipInfo):
        self.package, self.info = package, info
        self.stream = package.archive.open(info)
        self.inflated = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(CHUNK if size < 0 or size > CHUNK else size)
        self.inflated += len(chunk)
        self.package.spend(len(chunk), self)
        return chunk


class _Package:
    """The parts of an XLSX an import needs, found through their relationships, read within bounds."""

    def __init__(self, archive: zipfile.ZipFile, bounds: Bounds):
        self.archive, self.bounds, self.clock = archive, bounds, Clock(bounds.seconds)
        self.inflated = 0
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise SpreadsheetRefused(TOO_MANY_ENTRIES.format(n=len(infos), limit=MAX_ENTRIES))
        declared = sum(i.file_size for i in infos)
        if declared > bounds.expanded_bytes:
            raise SpreadsheetRefused(EXPANDS_TOO_FAR.format(limit=bounds.expanded_bytes))
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > bounds.ratio * max(info.compress_size, 1):
                raise SpreadsheetRefused(RATIO_TOO_HIGH.format(part=info.filename, limit=bounds.ratio))

    def spend(self, n: int, part: _Part) -> None:
        """Count inflated bytes as they come: the declared sizes checked above may be lies."""
        self.inflated += n
        if self.inflated > self.bounds.expanded_bytes:
            raise SpreadsheetRefused(EXPANDS_TOO_FAR.format(limit=self.bounds.expanded_bytes))
        if part.inflated > RATIO_FLOOR and part.inflated > self.bounds.ratio * max(part.info.compress_size, 1):
            raise SpreadsheetRefused(RATIO_TOO_HIGH.format(part=part.info.filename, limit=self.bounds.ratio))
        self.clock.check()

    def elements(self, path: str, keep: frozenset[str] = frozenset()) -> Iterator[tuple[str, str, Node | None]]:
        """(event, local name, node) of one XML part, streamed within the bounds (xmlstream.events)."""
        try:
            info = self.archive.getinfo(path)
        except KeyError:
            raise SpreadsheetRefused(NOT_READABLE.format(reason=f"it has no {path}")) from None
        try:
            yield from events(_Part(self, info).read, keep)
        except expat.ExpatError as exc:
            raise SpreadsheetRefused(NOT_READABLE.format(reason=f"{path}: {str(exc)[:120]}")) from None

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id -> (type's last segment, target path inside the archive)."""
        folder, base = posixpath.split(part)
        path = posixpath.join(folder, "_rels", base + ".rels")
        found: dict[str, tuple[str, str]] = {}
        for event, name, el in self.elements(path):
            if event == "start" and name == "Relationship" and el.get("TargetMode") != "External":
                target = el.get("Target", "")
                target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                found[el.get("Id", "")] = (el.get("Type", "").rpartition("/")[2], target)
                if len(found) > MAX_ENTRIES:
                    raise SpreadsheetRefused(TOO_MANY_ENTRIES.format(n=len(found), limit=MAX_ENTRIES))
        return found

    def first_sheet_rows(self) -> Iterator[tuple[int, tuple]]:
        office = [t for kind, t in self.relationships("").values() if kind == "officeDocument"]
        if not office:
            raise SpreadsheetRefused(NOT_READABLE.format(reason="it names no workbook"))
        workbook = office[0]
        related = self.relationships(workbook)
        sheet_id, date1904 = None, False
        for event, name, el in self.elements(workbook):
            if event == "start" and name == "workbookPr":
                date1904 = el.get("date1904") in ("1", "true")
            elif event == "start" and name == "sheet":
                sheet_id = el.get("id")  # r:id; attribute names are local
                break
        if sheet_id not in related:
            raise SpreadsheetRefused(NOT_READABLE.format(reason="its first sheet is missing"))
        parts = {kind: target for kind, target in related.values()}
        cells = CellReader(self, bounds=self.bounds, date1904=date1904)
        if "styles" in parts:
            cells.read_styles(parts["styles"])
        if "sharedStrings" in parts:
            cells.read_strings(parts["sharedStrings"])
        yield from cells.rows(related[sheet_id][1])
