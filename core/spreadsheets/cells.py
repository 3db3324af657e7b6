"""Cell values of a streamed XLSX sheet (archive.py streams the parts and enforces the bounds).

What a cell holds depends on three parts: the sheet (the cell and its type), the shared string table
(the text of most string cells) and the styles (whether a number is shown as a date). Each is streamed
once, keeping only what the cells need: the strings, and which style ids are dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from .limits import (
    COLUMN_PAST_LIMIT,
    NOT_READABLE,
    ROW_PAST_LIMIT,
    TOO_MANY_STRINGS,
    Bounds,
    SpreadsheetRefused,
)

# Excel's own ceiling on distinct cell formats; a styles part with more is not a real workbook.
MAX_STYLES = 65_000
# A cell reference ("XFD1048576") and a row or style number, in ASCII digits (str.isdigit takes "²"), short
# enough that a number past every limit is still cheap to compare.
REFERENCE = re.compile(r"([A-Za-z]{1,7})([0-9]{1,12})")
NUMBER = re.compile(r"[0-9]{1,12}")


def _text(el) -> str:
    """The text of a shared string or an inline string: its runs' <t>, without phonetic hints (<rPh>)."""
    parts = []
    for child in el:
        name = child.name
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if t.name == "t")
    return "".join(parts)


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eEnN") else int(text)


class CellReader:
    """Reads one workbook's styles and strings, then the values of one of its sheets."""

    def __init__(self, package, *, bounds: Bounds, date1904: bool):
        self.package, self.bounds = package, bounds
        self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        self.strings: list[str] = []
        self.date_styles: set[int] = set()

    def unreadable(self, what: str) -> SpreadsheetRefused:
        return SpreadsheetRefused(NOT_READABLE.format(reason=what))

    def read_styles(self, path: str) -> None:
        """Which style ids (positions in <cellXfs>) show their number as a date."""
        custom: dict[str, str] = {}
        position, in_xfs = 0, False
        for event, name, el in self.package.elements(path):
            if event == "start" and name == "numFmt":
                custom[el.get("numFmtId", "")] = el.get("formatCode", "")
            elif name == "cellXfs":
                in_xfs = event == "start"
            elif event == "start" and name == "xf" and in_xfs:
                fmt_id = el.get("numFmtId", "0")
                code = custom.get(fmt_id) or (BUILTIN_FORMATS.get(int(fmt_id)) if NUMBER.fullmatch(fmt_id) else None)
                if code and is_date_format(code):
                    self.date_styles.add(position)
                position += 1
            if len(custom) > MAX_STYLES or position > MAX_STYLES:
                raise self.unreadable(f"more than {MAX_STYLES:,} cell formats")

    def read_strings(self, path: str) -> None:
        # No cell within the bounds can use more strings than there are cells within the bounds.
        limit = self.bounds.rows * self.bounds.columns
        for event, name, el in self.package.elements(path, keep=frozenset({"si"})):
            if event == "end" and name == "si":
                if len(self.strings) >= limit:
                    raise SpreadsheetRefused(TOO_MANY_STRINGS.format(limit=limit))
                self.strings.append(_text(el))

    def rows(self, path: str) -> Iterator[tuple[int, tuple]]:
        """(row number, values) of each row holding a value; a value past the bounds is refused at once."""
        row_number, column, values = 0, 0, {}
        for event, name, el in self.package.elements(path, keep=frozenset({"c"})):
            if name == "row":
                if event == "start":
                    row_number = self._row_number(el.get("r"), row_number)
                    column, values = 0, {}
                elif values:
                    yield row_number, tuple(values.get(i) for i in range(1, max(values) + 1))
            elif name == "c" and event == "end":
                ref = el.get("r")
                column, cell_row = self._reference(ref) if ref else (column + 1, row_number)
                value = self._value(el)
                if value is None or value == "":
                    continue  # an empty or merely formatted cell, wherever it is, costs nothing
                if max(row_number, cell_row) > self.bounds.rows:
                    far = max(row_number, cell_row)
                    raise SpreadsheetRefused(ROW_PAST_LIMIT.format(row=far, limit=self.bounds.rows))
                if column > self.bounds.columns:
                    raise SpreadsheetRefused(COLUMN_PAST_LIMIT.format(cell=ref or column, limit=self.bounds.columns))
                values[column] = value
            elif name == "sheetData" and event == "end":
                return

    def _row_number(self, r: str | None, previous: int) -> int:
        if r is None:
            return previous + 1
        if not NUMBER.fullmatch(r):
            raise self.unreadable(f"row number {r[:20]!r}")
        return int(r)

    def _reference(self, ref: str) -> tuple[int, int]:
        """(column, row) of a cell reference such as "B7"."""
        match = REFERENCE.fullmatch(ref)
        if not match:
            raise self.unreadable(f"cell reference {ref[:20]!r}")
        column = 0
        for letter in match[1].upper():
            column = column * 26 + ord(letter) - ord("A") + 1
        return column, int(match[2])

    def _value(self, el):
        kind = el.get("t", "n")
        if kind == "inlineStr":
            inline = next((c for c in el if c.name == "is"), None)
            return None if inline is None else _text(inline)
        text = next((c.text for c in el if c.name == "v"), None)
        if text is None:
            return None
        try:
            if kind == "s":
                return self.strings[int(text)]
            if kind == "b":
                return text.strip() == "1"
            if kind == "d":
                return from_ISO8601(text)
            if kind in ("str", "e"):
                return text
            number = _number(text.strip())
        except (ValueError, IndexError):
            raise self.unreadable(f"a cell of type {kind!r} holds {text[:20]!r}") from None
        style = el.get("s", "0")
        if NUMBER.fullmatch(style) and int(style) in self.date_styles:
            try:
                return from_excel(number, self.epoch)
            except (ValueError, OverflowError):
                return number  # not a date after all: the importer names the cell
        return number
