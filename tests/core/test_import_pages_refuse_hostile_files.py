"""The import pages with hostile files (issue #14): the form names the limit, nothing is saved, the audit
trail does not grow. The files and their bounds are tested one by one in
tests/core/test_spreadsheet_import_bounds.py; here, that the pages show the refusal as it is."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core import spreadsheets
from core.roles import Role
from governance.models import AuditEvent, Dataset, DatasetField
from projects.models import ROIEntry
from projects.roi.importer import COLUMNS
from tests.factories import make_user
from tests.spreadsheet_files import LAUGHS, SHEET, SHEET_HEAD, SHEET_TAIL, build, repeated, row, sheet_of

MB = 1024 * 1024


def xlsx(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/octet-stream")


def refused_on_the_page(client, project, upload) -> list[str]:
    """The form errors of an ROI upload, after checking that it changed nothing and took a bounded time."""
    events, entries = AuditEvent.objects.count(), ROIEntry.objects.count()
    started = time.monotonic()
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": upload})
    assert time.monotonic() - started < 5.0  # the page and its ledger rendered too, on a shared machine
    assert response.status_code == 200
    assert (AuditEvent.objects.count(), ROIEntry.objects.count()) == (events, entries)
    return response.context["upload_form"].errors["file"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("row-2e9", spreadsheets.ROW_PAST_LIMIT.format(row=2_000_000_000, limit=10_001)),
        ("zip-bomb", spreadsheets.EXPANDS_TOO_FAR.format(limit=16 * MB)),
        ("billion-laughs", spreadsheets.NO_DTD),
    ],
)
def test_the_roi_import_page_names_the_limit_and_saves_nothing(client, team_lead, project, tmp_path, case, message):
    header = row(COLUMNS, 1)
    if case == "row-2e9":
        path = build(tmp_path / "far.xlsx", sheet_of(header, row([project.slug, "2026-01"], 2_000_000_000)))
    elif case == "zip-bomb":  # 40 MB of empty cells: past the 16 MB limit, under the ratio's notice
        path = build(tmp_path / "bomb.xlsx", [SHEET_HEAD, header, b"<row>", *repeated(b"<c/>", 40 * MB), b"</row>",
                                              SHEET_TAIL])  # fmt: skip
    else:
        path = build(tmp_path / "laughs.xlsx", [], parts={SHEET: LAUGHS})
    client.force_login(team_lead)
    assert refused_on_the_page(client, project, xlsx(path)) == [message]


def test_the_roi_import_page_refuses_a_csv_field_past_the_limit(client, team_lead, project):
    data = ",".join(COLUMNS) + "\n" + f'{project.slug},"{"x" * 200_000}"\n'
    client.force_login(team_lead)
    upload = SimpleUploadedFile("roi.csv", data.encode(), content_type="text/csv")
    assert refused_on_the_page(client, project, upload) == [
        spreadsheets.CSV_FIELD_TOO_LONG.format(line=2, limit=131072)
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'namespace,name,description\nns,t,"' + b"d" * 200_000 + b'"\n',
         spreadsheets.CSV_FIELD_TOO_LONG.format(line=2, limit=131072)),
        (b"namespace,name\n" + b"ns,t" + b",x" * 60 + b"\n",
         spreadsheets.CSV_TOO_MANY_COLUMNS.format(line=2, n=62, limit=50)),
    ],
    ids=["huge-field", "too-many-columns"],
)  # fmt: skip
def test_the_inventory_import_page_names_the_limit_and_creates_nothing(client, db, data, message):
    client.force_login(make_user("dpo-hostile", Role.COMPLIANCE))
    events = AuditEvent.objects.count()
    response = client.post("/governance/pii/inventory/import/", {"file": SimpleUploadedFile("inv.csv", data)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Dataset.objects.count(), DatasetField.objects.count(), AuditEvent.objects.count()) == (0, 0, events)
