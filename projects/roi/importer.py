"""ROI import files: read a CSV or XLSX upload into numbered rows, and write the blank template.

Knows files and nothing of the ORM: projects/roi/import_service.py validates and saves the rows. A file
is refused as a whole (RoiFileError) when it is too large, is not really CSV or XLSX, or lacks the
columns; row contents are judged by the service, which names every bad line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from core import spreadsheets
from core.exports import export_cell, sheet_title

COLUMNS = ("project", "month", "kind", "category", "basis", "amount", "currency", "evidence_url", "note")
REQUIRED_COLUMNS = ("month", "kind", "category", "basis", "amount")
MAX_ROWS = 10_000

FILE_TOO_LARGE = "The file is larger than the {limit} bytes accepted. Split it into smaller files."
FILE_EMPTY = "The file is empty."
FILE_WRONG_TYPE = "Upload a .csv or .xlsx file (the template is available from this page); {name!r} is neither."
FILE_NOT_CSV = spreadsheets.CSV_NOT_TEXT
FILE_NOT_XLSX = spreadsheets.NOT_XLSX
FILE_NO_HEADER = "The first line must be the header: {columns}."
FILE_MISSING_COLUMNS = "The header lacks the column(s): {missing}. Expected: {columns}."
FILE_UNKNOWN_COLUMNS = "The header has unknown column(s): {unknown}. Expected: {columns}."
FILE_NO_ROWS = "The file has a header but no rows."
FILE_TOO_MANY_ROWS = "The file has more than {limit} rows; split it into smaller files."


class RoiFileError(spreadsheets.SpreadsheetRefused):
    """The upload as a whole cannot be read; nothing in it was looked at row by row."""


@dataclass(frozen=True)
class ImportRow:
    """One row of an import, with the line it came from (file line, or 1-based position in an API list)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)


def max_bytes() -> int:
    return settings.KEEL_ROI_IMPORT_MAX_BYTES


class SizeLimitedUploadHandler(FileUploadHandler):
    """Stops storing an upload once it passes the limit, so an oversize file never reaches the disk;
    the view then sees `request.roi_upload_too_large` and says why the file is missing."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = max_bytes() if limit is None else limit

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.roi_upload_too_large = True
            raise StopUpload(connection_reset=False)  # the rest of the body is read and dropped
        return raw_data

    def file_complete(self, file_size):
        return None


def read_upload(upload) -> list[ImportRow]:
    """Rows of an uploaded CSV or XLSX file (a Django UploadedFile or anything with .name/.size/.read())."""
    name = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise RoiFileError(FILE_TOO_LARGE.format(limit=limit))
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise RoiFileError(FILE_TOO_LARGE.format(limit=limit))
    return read_bytes(name, data)


def read_bytes(name: str, data: bytes) -> list[ImportRow]:
    """Rows of a file's content; the extension says which reader, and the content must agree."""
    if not data:
        raise RoiFileError(FILE_EMPTY)
    lower = name.lower()
    if lower.endswith(".csv"):
        return _read_csv(data)
    if lower.endswith(".xlsx"):
        return _read_xlsx(data)
    raise RoiFileError(FILE_WRONG_TYPE.format(name=name))


def _bounds() -> spreadsheets.Bounds:
    # a value may be in the header row or one of MAX_ROWS rows below it; blank rows count, they are rows
    return spreadsheets.Bounds.from_settings(rows=MAX_ROWS + 1)


def _read_csv(data: bytes) -> list[ImportRow]:
    if data[:4] in (b"PK\x03\x04", b"%PDF"):
        raise RoiFileError(FILE_NOT_CSV)
    try:
        text = spreadsheets.csv_text(data)
        # The header decides the separator (a spreadsheet set to a European locale saves with ";"); notes
        # further down may hold any of them, so they are not looked at.
        header_line = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=header_line.count)
        records = spreadsheets.csv_records(text, _bounds(), delimiter=delimiter)
        return _rows(records)
    except spreadsheets.SpreadsheetRefused as exc:
        raise RoiFileError(exc.message) from None


def _read_xlsx(data: bytes) -> list[ImportRow]:
    try:
        return _rows(spreadsheets.xlsx_rows(data, _bounds()), header_row=1)
    except spreadsheets.SpreadsheetRefused as exc:
        raise RoiFileError(exc.message) from None


def _blank(record) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in record)


def _rows(records, header_row: int | None = None) -> list[ImportRow]:
    """Numbered rows below the header, blank ones skipped. `header_row`: the row the header must be in
    (a sheet's first row; a CSV's header is its first record, whatever line it ends on)."""
    first = next(records, None)
    if first is None or (header_row is not None and first[0] != header_row):
        raise RoiFileError(FILE_NO_HEADER.format(columns=", ".join(COLUMNS)))
    columns = _columns(["" if c is None else str(c) for c in first[1]])
    rows: list[ImportRow] = []
    for line, record in records:
        if _blank(record):
            continue  # blank lines are not rows
        rows.append(_row(line, columns, record))
        if len(rows) > MAX_ROWS:
            raise RoiFileError(FILE_TOO_MANY_ROWS.format(limit=MAX_ROWS))
    if not rows:
        raise RoiFileError(FILE_NO_ROWS)
    return rows


def _columns(header) -> list[str]:
    expected = ", ".join(COLUMNS)
    if not header or not any(str(c).strip() for c in header):
        raise RoiFileError(FILE_NO_HEADER.format(columns=expected))
    columns = [str(c).strip().lower().replace(" ", "_") for c in header]
    unknown = [c for c in columns if c and c not in COLUMNS]
    if unknown:
        raise RoiFileError(FILE_UNKNOWN_COLUMNS.format(unknown=", ".join(unknown), columns=expected))
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise RoiFileError(FILE_MISSING_COLUMNS.format(missing=", ".join(missing), columns=expected))
    return columns


def _row(line: int, columns: list[str], record) -> ImportRow:
    values: dict[str, Any] = {}
    for name, cell in zip(columns, record, strict=False):
        if name:
            values[name] = cell
    return ImportRow(line=line, values=values)


# --- template -----------------------------------------------------------------------------------

TEMPLATE_EXAMPLES = (
    {"project": "", "month": "2026-01", "kind": "value", "category": "cost_saving", "basis": "planned",
     "amount": "12000.00", "currency": "EUR", "evidence_url": "", "note": "Business case, year 1"},
    {"project": "", "month": "2026-01", "kind": "cost", "category": "compute", "basis": "actual",
     "amount": "1800.50", "currency": "EUR", "evidence_url": "https://example.org/invoice/42", "note": ""},
)  # fmt: skip


def template_rows(project_slug: str = "") -> list[list[str]]:
    """The header and two example rows (for one project when a slug is given), formula-safe."""
    rows = [[export_cell(c) for c in COLUMNS]]
    for example in TEMPLATE_EXAMPLES:
        row = {**example, "project": project_slug}
        rows.append([export_cell(str(row[c])) for c in COLUMNS])
    return rows


def template_csv(project_slug: str = "") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerows(template_rows(project_slug))
    return out.getvalue().encode("utf-8")


def template_xlsx(project_slug: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title("ROI entries")
    for row in template_rows(project_slug):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    # Months as text ("2026-01"), so a spreadsheet does not turn them into dates in another format.
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        for cell in row:
            cell.number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def month_from_cell(value: Any) -> dt.date | None:
    """A month from a cell: "2026-11", "2026-11-01", or a date/datetime (XLSX). None if unreadable."""
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar month, no time zone
        except ValueError:
            continue
        if fmt == "%Y-%m-%d" and parsed.day != 1:
            return None
        return parsed.replace(day=1)
    return None
