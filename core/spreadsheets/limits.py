"""The bounds of an import, the clock that enforces its time, and every refusal's message."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

# Bytes inflated per read, so the budget is checked at least this often.
CHUNK = 64 * 1024
# Inflated bytes below which a part's ratio is not judged: a small part of repeated markup may compress
# far better than the cap and is harmless.
RATIO_FLOOR = 1024 * 1024
# Zip entries (and relationships of one part): a workbook has a dozen or two.
MAX_ENTRIES = 1000
# Elements inside one cell or one shared string (rich-text runs): a real cell has a handful.
MAX_CELL_PARTS = 1000

NOT_XLSX = "The file is named .xlsx but is not an Excel workbook."
NOT_READABLE = "The file is named .xlsx but is not an Excel workbook Keel can read ({reason})."
TOO_MANY_ENTRIES = "The workbook holds {n:,} files; at most {limit:,} are accepted."
EXPANDS_TOO_FAR = (
    "The workbook unzips to more than {limit:,} bytes, the limit (KEEL_IMPORT_MAX_EXPANDED_BYTES); split it "
    "into smaller files."
)
RATIO_TOO_HIGH = (
    "The workbook's part {part} is compressed more than {limit}:1, the limit (KEEL_IMPORT_MAX_RATIO); "
    "Keel does not unpack it."
)
NO_DTD = "The workbook's XML declares a DTD or entities, which a spreadsheet never needs; Keel does not read it."
CELL_TOO_COMPLEX = "The workbook has a cell of more than {limit:,} XML elements; Keel does not read it."
TOO_MANY_STRINGS = "The workbook's shared string table holds more than {limit:,} strings, more than its cells may use."
ROW_PAST_LIMIT = "Row {row:,} holds a value; an import may use rows 1 to {limit:,} only (split the file)."
COLUMN_PAST_LIMIT = "Cell {cell} holds a value; an import may use the first {limit} columns only."
TOO_SLOW = (
    "Reading the file took longer than {seconds:g} seconds, the limit (KEEL_IMPORT_MAX_SECONDS); split it "
    "into smaller files."
)
CSV_NOT_TEXT = "The file is named .csv but is not readable text (UTF-8 CSV expected)."
CSV_FIELD_TOO_LONG = "Line {line:,} has a field longer than {limit:,} characters, the limit."
CSV_TOO_MANY_COLUMNS = "Line {line:,} has {n:,} fields; an import may use the first {limit} columns only."
CSV_UNREADABLE = "The file is named .csv but is not readable CSV ({reason})."

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


class SpreadsheetRefused(ValueError):
    """The upload is refused as a whole; `message` says why, naming the limit it passed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Bounds:
    """The limits of one import: `rows` is the highest row number (header included) that may hold a value."""

    rows: int
    columns: int
    expanded_bytes: int
    ratio: int
    seconds: float

    @classmethod
    def from_settings(cls, *, rows: int) -> Bounds:
        return cls(
            rows=rows,
            columns=settings.KEEL_IMPORT_MAX_COLUMNS,
            expanded_bytes=settings.KEEL_IMPORT_MAX_EXPANDED_BYTES,
            ratio=settings.KEEL_IMPORT_MAX_RATIO,
            seconds=settings.KEEL_IMPORT_MAX_SECONDS,
        )


class Clock:
    """The wall-clock budget of one import, checked inside every loop that reads input."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise SpreadsheetRefused(TOO_SLOW.format(seconds=self.seconds))
