"""ROI imports from CSV and XLSX: all rows valid or nothing saved, every bad line named, no doubling."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from governance.models import AuditEvent
from projects.models import ROIEntry
from projects.roi import import_service as services
from projects.roi.import_service import REPEATED_KEY, UNKNOWN_PROJECT, RoiImportError
from projects.roi.importer import (
    COLUMNS,
    FILE_NOT_CSV,
    FILE_NOT_XLSX,
    FILE_WRONG_TYPE,
    RoiFileError,
    read_bytes,
    read_upload,
    template_csv,
    template_xlsx,
)
from projects.roi.services import no_rate_message


def month_of(i: int) -> str:
    return f"{2022 + i // 12}-{i % 12 + 1:02d}"


def good_rows(slug: str, n: int) -> list[dict]:
    """n valid rows, one per month from 2022-01, alternating planned value and actual cost."""
    rows = []
    for i in range(n):
        value = i % 2 == 0
        rows.append({
            "project": slug, "month": month_of(i), "kind": "value" if value else "cost",
            "category": "revenue_uplift" if value else "compute", "basis": "planned" if value else "actual",
            "amount": f"{1000 + i}.50", "currency": "EUR", "evidence_url": "", "note": f"row {i}",
        })  # fmt: skip
    return rows


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def to_xlsx(rows: list[dict]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    for row in rows:
        ws.append([row[c] for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_import(by, project, name, data):
    return services.roi_entries_import(project_or_none=project, rows=read_bytes(name, data), by=by)


def test_a_valid_csv_imports_every_row_with_one_audit_event_each(team_lead, project):
    result = run_import(team_lead, project, "roi.csv", to_csv(good_rows(project.slug, 4)))
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    entries = list(ROIEntry.objects.order_by("month"))
    assert [(e.month, e.kind, e.category, e.basis, e.amount) for e in entries] == [
        (dt.date(2022, 1, 1), "value", "revenue_uplift", "planned", D("1000.50")),
        (dt.date(2022, 2, 1), "cost", "compute", "actual", D("1001.50")),
        (dt.date(2022, 3, 1), "value", "revenue_uplift", "planned", D("1002.50")),
        (dt.date(2022, 4, 1), "cost", "compute", "actual", D("1003.50")),
    ]
    assert all(e.logged_by == team_lead and e.amount_reporting == e.amount for e in entries)
    created = AuditEvent.objects.filter(action="roi_entry.created")
    assert sorted(int(e.object_id) for e in created) == sorted(e.pk for e in entries)


def test_a_valid_xlsx_imports_with_numbers_and_dates_as_cells(team_lead, project):
    rows = good_rows(project.slug, 3)
    rows[0]["amount"] = 1500  # a number cell
    rows[1]["month"] = dt.datetime(2024, 6, 1)  # a date cell  # noqa: DTZ001 - a spreadsheet date
    rows[2]["amount"] = 12.25
    result = run_import(team_lead, project, "ROI.XLSX", to_xlsx(rows))
    assert result.created == 3
    assert sorted((e.month, e.amount) for e in ROIEntry.objects.all()) == [
        (dt.date(2022, 1, 1), D("1500.00")),
        (dt.date(2022, 3, 1), D("12.25")),
        (dt.date(2024, 6, 1), D("1001.50")),
    ]


def test_fifty_rows_with_three_bad_ones_save_nothing_and_name_the_three_lines(team_lead, project):
    rows = good_rows(project.slug, 50)
    rows[6]["month"] = "2026/13"  # line 8
    rows[21]["category"] = "compute"  # line 23: a cost category on a value row
    rows[21]["kind"] = "value"
    rows[39]["currency"] = "USD"  # line 41: no USD rate for its month
    before = AuditEvent.objects.count()

    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.csv", to_csv(rows))

    assert exc.value.message == "3 of 50 rows are invalid; nothing was saved. Correct them and upload the file again."
    assert [r["line"] for r in exc.value.rows] == [8, 23, 41]
    assert exc.value.rows[0]["errors"] == {"month": ["Give the month as YYYY-MM (e.g. 2026-11)."]}
    assert list(exc.value.rows[1]["errors"]) == ["category"]
    assert exc.value.rows[2]["errors"] == {"currency": [no_rate_message("USD", dt.date(2025, 4, 1))]}
    assert ROIEntry.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_the_same_file_twice_does_not_double(team_lead, project):
    data = to_csv(good_rows(project.slug, 10))
    run_import(team_lead, project, "roi.csv", data)
    events = AuditEvent.objects.count()
    again = run_import(team_lead, project, "roi.csv", data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert ROIEntry.objects.count() == 10
    assert AuditEvent.objects.count() == events  # a no-op writes nothing


def test_a_changed_amount_updates_the_entry_and_audits_the_change(team_lead, admin_user, project):
    rows = good_rows(project.slug, 3)
    run_import(team_lead, project, "roi.csv", to_csv(rows))
    rows[1]["amount"] = "2000"
    result = run_import(admin_user, project, "roi.csv", to_csv(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    entry = ROIEntry.objects.get(month=dt.date(2022, 2, 1))
    assert entry.amount == D("2000.00")
    (event,) = AuditEvent.objects.filter(action="roi_entry.updated")
    assert event.object_id == str(entry.pk)
    assert event.before == {"amount": "1001.50", "amount_reporting": "1001.50", "logged_by": team_lead.pk}
    assert event.after == {"amount": "2000.00", "amount_reporting": "2000.00", "logged_by": admin_user.pk}


def test_a_key_repeated_within_the_file_names_both_lines(team_lead, project):
    rows = good_rows(project.slug, 3)
    rows.append(dict(rows[0], amount="5"))
    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.csv", to_csv(rows))
    assert exc.value.rows == [{"line": 5, "errors": {"__all__": [REPEATED_KEY.format(first=2)]}}]


def test_rows_of_another_project_are_refused_in_a_project_upload(team_lead, project, other_project):
    rows = good_rows(other_project.slug, 1)
    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.csv", to_csv(rows))
    assert "This upload is for project 'fraud-scoring'" in exc.value.rows[0]["errors"]["project"][0]


def test_without_a_fixed_project_a_team_lead_may_not_name_another_teams_project(team_lead, project, other_project):
    rows = good_rows(project.slug, 1) + good_rows(other_project.slug, 1)
    with pytest.raises(RoiImportError) as exc:
        services.roi_entries_import(project_or_none=None, rows=read_bytes("x.csv", to_csv(rows)), by=team_lead)
    assert exc.value.rows == [{"line": 3, "errors": {"project": [UNKNOWN_PROJECT.format(slug="churn-model")]}}]
    assert ROIEntry.objects.count() == 0


def test_an_admin_imports_several_projects_at_once(admin_user, project, other_project):
    rows = good_rows(project.slug, 2) + good_rows(other_project.slug, 2)
    result = services.roi_entries_import(project_or_none=None, rows=read_bytes("x.csv", to_csv(rows)), by=admin_user)
    assert result.created == 4
    assert sorted(ROIEntry.objects.values_list("project__slug", flat=True)) == [
        "churn-model", "churn-model", "fraud-scoring", "fraud-scoring",
    ]  # fmt: skip


@pytest.mark.parametrize("persona", ["executive", "risk_officer"])
def test_readers_cannot_import(persona, request, project):
    from core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        run_import(request.getfixturevalue(persona), None, "roi.csv", to_csv(good_rows(project.slug, 1)))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "1,000.00", "Give the amount as a plain number"),
        ("amount", "-5", "The amount cannot be negative"),
        ("amount", "1.005", "Give the amount as a plain number"),
        ("amount", "", "This field is required."),
        ("kind", "income", "'income' is not a kind"),
        ("basis", "forecast", "'forecast' is not a basis"),
        ("currency", "EURO", "Use a three-letter ISO 4217 code"),
        ("evidence_url", "javascript:alert(1)", "Give the evidence link as a full http(s) URL"),
        ("month", "", "This field is required."),
        ("month", "2026-03-15", "Give the month as YYYY-MM"),
    ],
)
def test_each_bad_value_is_named_with_its_reason(team_lead, project, field, value, message):
    rows = good_rows(project.slug, 2)
    rows[1][field] = value
    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.csv", to_csv(rows))
    (bad,) = exc.value.rows
    assert bad["line"] == 3
    assert bad["errors"][field][0].startswith(message)


def test_labels_and_capitals_are_read_as_the_values(team_lead, project):
    rows = good_rows(project.slug, 1)
    rows[0].update(kind="Value", category="Revenue uplift", basis="PLANNED")
    assert run_import(team_lead, project, "roi.csv", to_csv(rows)).created == 1


def test_semicolon_separated_csv_with_a_bom_is_read(team_lead, project):
    data = "\ufeffproject;month;kind;category;basis;amount\n;2026-01;cost;people;actual;10\n".encode()
    assert run_import(team_lead, project, "roi.csv", data).created == 1


# --- the file as a whole ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", b"%PDF-1.4 ...", FILE_WRONG_TYPE.format(name="report.pdf")),
        ("roi.txt", b"project,month\n", FILE_WRONG_TYPE.format(name="roi.txt")),
        ("roi.csv", b"PK\x03\x04 a zip in disguise", FILE_NOT_CSV),
        ("roi.csv", b"\xff\xfe\x00m\x00o", FILE_NOT_CSV),
        ("roi.xlsx", b"project,month,kind\n", FILE_NOT_XLSX),
        ("roi.xlsx", b"PK\x03\x04 not really a workbook", FILE_NOT_XLSX),
    ],
)
def test_a_file_that_is_not_csv_or_xlsx_is_refused(name, data, message):
    with pytest.raises(RoiFileError) as exc:
        read_bytes(name, data)
    assert exc.value.message == message


def test_an_oversize_file_is_refused_before_it_is_read(settings):
    settings.KEEL_ROI_IMPORT_MAX_BYTES = 100
    upload = SimpleUploadedFile("roi.csv", b"x" * 101, content_type="text/csv")
    with pytest.raises(RoiFileError) as exc:
        read_upload(upload)
    assert exc.value.message == ("The file is larger than the 100 bytes accepted. Split it into smaller files.")


def test_a_header_without_the_required_columns_is_refused():
    with pytest.raises(RoiFileError) as exc:
        read_bytes("roi.csv", b"project,month,amount\nx,2026-01,5\n")
    assert exc.value.message.startswith("The header lacks the column(s): kind, category, basis.")


def test_an_unknown_column_is_refused():
    with pytest.raises(RoiFileError) as exc:
        read_bytes("roi.csv", b"month,kind,category,basis,amount,colour\n")
    assert exc.value.message.startswith("The header has unknown column(s): colour.")


def test_a_header_alone_is_refused():
    with pytest.raises(RoiFileError) as exc:
        read_bytes("roi.csv", b"month,kind,category,basis,amount\n\n")
    assert exc.value.message == "The file has a header but no rows."


def test_csv_line_numbers_count_blank_lines_and_quoted_newlines(team_lead, project):
    data = (
        b"month,kind,category,basis,amount,note\n"
        b'2026-01,cost,people,actual,1,"two\nlines"\n'
        b"\n"
        b"2026-02,cost,people,actual,oops,\n"
    )
    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.csv", data)
    assert [r["line"] for r in exc.value.rows] == [5]


# --- the template -------------------------------------------------------------------------------


def test_the_csv_template_imports_as_it_is(team_lead, project):
    data = template_csv(project.slug)
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == list(COLUMNS)
    assert {r[0] for r in rows[1:]} == {project.slug}
    assert run_import(team_lead, project, "template.csv", data).created == 2


def test_the_xlsx_template_imports_as_it_is(team_lead, project):
    data = template_xlsx(project.slug)
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert run_import(team_lead, project, "template.xlsx", data).created == 2


def test_the_template_neutralises_formulas(monkeypatch):
    from projects.roi import importer as roi_import

    monkeypatch.setattr(roi_import, "TEMPLATE_EXAMPLES", ({c: "" for c in COLUMNS} | {"note": "=HYPERLINK(1)"},))
    assert roi_import.template_rows("p")[1][COLUMNS.index("note")] == "'=HYPERLINK(1)"
    sheet = load_workbook(io.BytesIO(roi_import.template_xlsx("p"))).active
    assert sheet.cell(row=2, column=COLUMNS.index("note") + 1).value == "'=HYPERLINK(1)"
    assert sheet.cell(row=2, column=COLUMNS.index("note") + 1).data_type == "s"


def test_a_computed_spreadsheet_amount_is_read_as_its_cents(team_lead, project):
    rows = good_rows(project.slug, 2)
    rows[0]["amount"] = 100 * 1.1  # 110.00000000000001
    rows[1]["amount"] = 0.125  # really three decimals
    with pytest.raises(RoiImportError) as exc:
        run_import(team_lead, project, "roi.xlsx", to_xlsx(rows))
    assert [r["line"] for r in exc.value.rows] == [3]
    del rows[1]
    run_import(team_lead, project, "roi.xlsx", to_xlsx(rows))
    assert ROIEntry.objects.get().amount == D("110.00")


def test_a_note_with_semicolons_does_not_change_the_separator(team_lead, project):
    data = b"month,kind,category,basis,amount,note\n2026-01,cost,people,actual,10,a;b;c;d;e;f\n"
    assert run_import(team_lead, project, "roi.csv", data).created == 1
    assert ROIEntry.objects.get().note == "a;b;c;d;e;f"
