"""CSV uploads: UTF-8 text, read record by record within the import's bounds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from .limits import (
    CSV_FIELD_TOO_LONG,
    CSV_NOT_TEXT,
    CSV_TOO_MANY_COLUMNS,
    CSV_UNREADABLE,
    Bounds,
    Clock,
    SpreadsheetRefused,
)


def csv_text(data: bytes) -> str:
    """The text of a CSV upload: UTF-8 (a BOM is dropped), no NUL (a binary file, or UTF-16)."""
    if b"\x00" in data:
        raise SpreadsheetRefused(CSV_NOT_TEXT)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetRefused(CSV_NOT_TEXT) from None


def csv_records(text: str, bounds: Bounds, *, delimiter: str = ",", **options) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields) of every CSV record, blank ones included, within bounds.
    A field longer than csv's field_size_limit (128 KB by default; left alone: it is process-wide) is
    refused, as is a record with more fields than the column limit."""
    clock = Clock(bounds.seconds)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, **options)
    start = 1
    while True:
        clock.check()
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise SpreadsheetRefused(CSV_FIELD_TOO_LONG.format(line=start, limit=csv.field_size_limit())) from None
            raise SpreadsheetRefused(CSV_UNREADABLE.format(reason=exc)) from None
        if len(record) > bounds.columns and any(f.strip() for f in record[bounds.columns :]):
            raise SpreadsheetRefused(CSV_TOO_MANY_COLUMNS.format(line=start, n=len(record), limit=bounds.columns))
        yield start, record
        start = reader.line_num + 1
