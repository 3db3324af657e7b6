"""Uploaded spreadsheets (XLSX and CSV) read within bounds: the one reader every importer uses.

A small upload can be a large job. An XLSX file is a zip of XML parts, and every layer multiplies: a
413 KB zip inflates to a 400 MB sheet, and a 5 KB sheet whose only row is numbered 2,000,000,000 made
openpyxl's read-only `iter_rows` yield two billion empty rows. So the workbook is not handed to
openpyxl's loader (which builds whole documents of styles and workbook parts, and fills row gaps);
the few parts an import needs are streamed here, each bound checked as the bytes arrive:

- the archive: how many entries, their declared sizes, and the bytes actually inflated (a declared
  size can lie), with a cap on each part's compression ratio;
- the XML: no DTD at all, so no entity expansion ("billion laughs") or external entity; parsed by expat
  event by event (xmlstream.py), so memory holds one cell, not one row or one sheet;
- the sheet: a value in a row or column past the limit is refused at its cell, gaps are never filled;
- the wall clock: a deadline checked for every element and every CSV record.

Every refusal is a SpreadsheetRefused whose message names the limit; importers show it as it is.
"""

from .archive import xlsx_rows
from .csvfile import csv_records, csv_text
from .limits import (
    CSV_FIELD_TOO_LONG,
    CSV_NOT_TEXT,
    CSV_TOO_MANY_COLUMNS,
    EXPANDS_TOO_FAR,
    NO_DTD,
    NOT_XLSX,
    RATIO_TOO_HIGH,
    ROW_PAST_LIMIT,
    TOO_SLOW,
    Bounds,
    SpreadsheetRefused,
)

__all__ = [
    "CSV_FIELD_TOO_LONG",
    "CSV_NOT_TEXT",
    "CSV_TOO_MANY_COLUMNS",
    "EXPANDS_TOO_FAR",
    "NOT_XLSX",
    "NO_DTD",
    "RATIO_TOO_HIGH",
    "ROW_PAST_LIMIT",
    "TOO_SLOW",
    "Bounds",
    "SpreadsheetRefused",
    "csv_records",
    "csv_text",
    "xlsx_rows",
]  # fmt: skip
