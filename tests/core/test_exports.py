"""One cell rule for every export: control characters removed first, then formulas neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.exports import CELL_MAX, FORMULA_STARTS, csv_response, export_cell, safe_text, sheet_title, xlsx_response

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


def test_every_character_a_worksheet_refuses_is_removed_before_the_formula_check():
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for point in range(0x10000):  # openpyxl's illegal characters, surrogates and non-characters are all in the BMP
        cell = safe_text(chr(point) + "=1")
        assert not ILLEGAL_CHARACTERS_RE.search(cell), hex(point)
        assert cell[:1] not in FORMULA_STARTS or cell.startswith("'"), hex(point)
        if 0xD800 <= point <= 0xDFFF or point in (0xFFFE, 0xFFFF):
            assert cell == "'=1", hex(point)


def test_a_cell_longer_than_a_spreadsheet_holds_is_cut_before_the_formula_check():
    cell = safe_text("=" + "A" * 40_000)
    assert (len(cell), cell[:2]) == (CELL_MAX, "'=")
    assert safe_text("\x01" * 10 + "x" * 40_000) == "x" * CELL_MAX


def test_header_cells_and_sheet_titles_go_through_the_rule():
    evil = '\x01=HYPERLINK("http://x")'
    sheets = [(evil, [evil, "n"], [[evil, 1]]), ("a/b:c[d]*?'" + "x" * 40, ["=1"], [])]
    workbook = load_workbook(io.BytesIO(xlsx_response(filename="t.xlsx", sheets=sheets).content))
    first, second = workbook.worksheets
    assert (first.title, second.title) == ('=HYPERLINK("http   x")', "a b c d   '" + "x" * 20)  # a name is no formula
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert [(c.value, c.data_type) for c in cells] == [
        ('\'=HYPERLINK("http://x")', "s"), ("n", "s"), ('\'=HYPERLINK("http://x")', "s"), (1, "n"), ("'=1", "s"),
    ]  # fmt: skip
    text = _csv(csv_response(filename="t.csv", header=[evil], rows=[]))
    assert text == '"\'=HYPERLINK(""http://x"")"\r\n'


@pytest.mark.parametrize("title", ["", "'", "[]", "\x00\x01"])
def test_a_sheet_title_that_would_be_empty_becomes_sheet(title):
    assert sheet_title(title) == "Sheet"


def test_a_lone_surrogate_is_dropped_instead_of_breaking_the_export():
    rows = [["\ud800=1", "ok\udfff"]]
    text = _csv(csv_response(filename="t.csv", header=["a", "b"], rows=rows))
    assert text.encode().decode() == "a,b\r\n'=1,ok\r\n"
    sheet = load_workbook(io.BytesIO(xlsx_response(filename="t.xlsx", sheets=[("T", ["a", "b"], rows)]).content))["T"]
    assert [c.value for c in sheet[2]] == ["'=1", "ok"]


def test_spreadsheets_are_written_only_where_the_cell_rule_is_applied():
    """A new export writing its own workbook or CSV would bypass export_cell: fail until it uses
    core.exports (or, like the two import templates, applies export_cell to every cell itself)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = re.compile(r"\bWorkbook\(|csv\.(?:writer|DictWriter)\(")
    found = {
        str(path.relative_to(root))
        for folder in ("core", "projects", "governance", "config")
        for path in (root / folder).rglob("*.py")
        if writers.search(path.read_text())
    }
    # the ROI template runs every cell through export_cell; the inventory template holds constants only
    assert found == {"core/exports.py", "projects/roi/importer.py", "governance/compliance/inventory.py"}
