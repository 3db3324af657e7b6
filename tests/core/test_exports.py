"""One cell rule for every export: control characters removed first, then formulas neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.exports import csv_response, export_cell, safe_text, xlsx_response

ATTACKS = [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    # A control character in front used to hide the "=" from the check; the writer then dropped it.
    ('\x01=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("\x00\x1f=1", "'=1"),
    ("plain text", "plain text"),
    ("mid=dle", "mid=dle"),
]


@pytest.mark.parametrize(("value", "expected"), ATTACKS)
def test_safe_text_removes_control_characters_before_neutralising_formulas(value, expected):
    assert safe_text(value) == expected


def test_export_cell_keeps_numbers_and_dates_and_makes_everything_else_safe_text():
    when = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)
    assert [export_cell(v) for v in (None, 3, -2.5, Decimal("-1.50"), True, dt.date(2026, 12, 1), when)] == [
        "", 3, -2.5, Decimal("-1.50"), True, "2026-12-01", "2026-12-04T10:30:00+00:00",
    ]  # fmt: skip
    assert export_cell("-1") == "'-1"  # text that looks like a formula stays text
    # In a workbook a date stays a date cell; a time is ISO text (a worksheet holds no time zone).
    assert export_cell(dt.date(2026, 12, 1), typed_dates=True) == dt.date(2026, 12, 1)
    assert export_cell(when, typed_dates=True) == "2026-12-04T10:30:00+00:00"


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize(("value", "expected"), ATTACKS)
def test_csv_and_xlsx_cells_hold_no_live_formula(value, expected):
    rows = [[value, 7]]
    text = _csv(csv_response(filename="t.csv", header=["name", "n"], rows=rows))
    assert list(csv.reader(io.StringIO(text)))[1] == [expected, "7"]
    workbook = load_workbook(io.BytesIO(xlsx_response(filename="t.xlsx", sheets=[("T", ["name", "n"], rows)]).content))
    cell = workbook["T"]["A2"]
    assert (cell.value, cell.data_type, workbook["T"]["B2"].value) == (expected, "s", 7)


def test_csv_response_streams_with_its_filename_and_type():
    response = csv_response(filename="keel-x.csv", header=["a"], rows=iter([["=1"], ["ok"]]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="keel-x.csv"'
    assert _csv(response).splitlines() == ["a", "'=1", "ok"]
