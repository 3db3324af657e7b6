"""Every CSV and XLSX export Keel serves: one streaming CSV response, one XLSX response, one cell rule.

Exports are opened in spreadsheets, so user-entered text is made inert there. The rule runs on the
value a cell will finally hold: every change a writer would make is made *first* (characters a worksheet
or XML cannot store removed, the text cut to a cell's length), then a value that would start a formula
is prefixed with an apostrophe. (Checking before the removal let "\x01=HYPERLINK(...)" through: the
control character hid the "=", then the writer dropped it.) Header cells and sheet titles go through
the same rule as every other cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

# What a spreadsheet reads as the start of a formula (OWASP CSV injection), whitespace and control
# characters included because some spreadsheets skip them before looking for "=".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# C0 control characters other than tab, newline and carriage return (openpyxl's ILLEGAL_CHARACTERS_RE:
# XLSX cannot hold them, and a CSV consumer may drop them, uncovering whatever follows), and what XML
# cannot carry at all: lone surrogates (not even encodable as UTF-8, so the export would fail midway)
# and the non-characters U+FFFE and U+FFFF.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The characters a spreadsheet cell holds; openpyxl cuts the rest, so the rule cuts first.
CELL_MAX = 32_767
# What Excel refuses in a sheet's name, and its length.
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_MAX = 31

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx")


def safe_text(value: str) -> str:
    """User-entered text as an export cell may hold it: no control characters, no longer than a cell,
    never a formula."""
    value = CONTROL_CHARACTERS.sub("", value)[:CELL_MAX]
    return "'" + value[: CELL_MAX - 1] if value[:1] in FORMULA_STARTS else value


def sheet_title(title: str) -> str:
    """A sheet name Excel accepts, whatever the title: no control or forbidden characters, at most 31
    characters, not starting or ending with an apostrophe (Excel refuses both), never empty."""
    title = SHEET_TITLE_FORBIDDEN.sub(" ", CONTROL_CHARACTERS.sub("", str(title)))
    return title.strip(" '")[:SHEET_TITLE_MAX].strip(" '") or "Sheet"


def export_cell(value, *, typed_dates: bool = False):
    """One cell of any export: text made safe (safe_text), numbers kept as numbers, None as an empty cell,
    anything else (an enum, a lazy string) as safe text. Times are ISO text (a worksheet cannot hold a
    time zone); dates too, except in a workbook (`typed_dates`), where a date cell sorts and filters as one."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and typed_dates:
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return safe_text(str(value))


def export_filename(stem: str, fmt: str) -> str:
    """`keel-<stem>-<yyyymmdd>.<fmt>`: the day of the export in the name, so downloads don't overwrite."""
    return f"keel-{stem}-{timezone.now():%Y%m%d}.{fmt}"


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer feeds a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream a CSV of `rows` (iterated lazily, so a large register never sits in memory)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([export_cell(h) for h in header])
        for row in rows:
            yield writer.writerow([export_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(*, filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> HttpResponse:
    """An XLSX workbook with one sheet per (title, header, rows), written in openpyxl's write-only mode."""
    from openpyxl import Workbook  # imported here: only exports need it, and it is slow to import

    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(sheet_title(title))
        sheet.append([export_cell(h) for h in header])
        for row in rows:
            sheet.append([export_cell(v, typed_dates=True) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_response(
    fmt: str, *, stem: str, header: Sequence[str], rows: Iterable[Sequence], title: str = ""
) -> HttpResponse:
    """One table as CSV or XLSX, the format a list page's `?export=` asked for."""
    if fmt == "xlsx":
        return xlsx_response(
            filename=export_filename(stem, "xlsx"), sheets=[(title or stem.capitalize(), header, rows)]
        )
    return csv_response(filename=export_filename(stem, "csv"), header=header, rows=rows)
