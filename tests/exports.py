"""Reading what an export answered, one way for every test: a streamed CSV as one dict per row."""

from __future__ import annotations

import csv
import io


def csv_dicts(response) -> list[dict]:
    """A streamed CSV answer as one dict per row, keyed by its header line."""
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def xlsx_dicts(response) -> list[dict]:
    """An XLSX answer's first sheet as one dict per row, keyed by its header row."""
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]
