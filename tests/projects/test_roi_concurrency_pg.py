"""The same ROI rows written at the same moment by several people, on PostgreSQL.

The project's row lock serialises the writers: one import creates the entries and the others find
them in place (no doubling, no integrity error); of several people logging one key, one creates it
and the others are told the key is taken. Each thread commits on its own connection, so these run
outside the test transaction. Skipped without PostgreSQL locally; a failure under CI=true.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.models import ROIEntry
from projects.roi import import_service as roi_import_service
from projects.roi import services as roi_services
from projects.roi.importer import ImportRow
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
THREADS = 4


def all_at_once(fn, n: int = THREADS) -> list:
    return run_at_once([fn] * n, what="a writer thread")


def test_the_same_file_imported_at_once_is_saved_once(team_lead, project):
    rows = [
        ImportRow(line=i + 2, values={"month": f"2025-{i + 1:02d}", "kind": "cost", "category": "compute",
                                      "basis": "actual", "amount": str(100 + i)})
        for i in range(12)
    ]  # fmt: skip
    outcomes = all_at_once(
        lambda: roi_import_service.roi_entries_import(project_or_none=project, rows=rows, by=team_lead)
    )
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sorted((o.created, o.unchanged) for o in outcomes) == [(0, 12)] * (THREADS - 1) + [(12, 0)]
    assert ROIEntry.objects.count() == 12
    assert AuditEvent.objects.filter(action="roi_entry.created").count() == 12
    assert verify_chain().ok


def test_one_key_logged_at_once_is_created_once(team_lead, admin_user, project):
    def create():
        return roi_services.roi_entry_create(
            by=team_lead, project=project, month=dt.date(2025, 1, 1), kind="value", category="productivity",
            basis="actual", amount=D("10"),
        )  # fmt: skip

    outcomes = all_at_once(create)
    created = [o for o in outcomes if isinstance(o, ROIEntry)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(created), len(refused)) == (1, THREADS - 1), outcomes
    assert all("change that entry instead" in r.messages[0] for r in refused)
    assert ROIEntry.objects.count() == 1
    assert verify_chain().ok


def test_the_roll_up_equals_the_ledger_after_edits_and_an_fx_change_at_once(team_lead, admin_user, project):
    # Each edit locks the project, then its entry; the FX change locks the projects before the entries it
    # re-converts, so the two orders cannot deadlock and every roll-up cell is recomputed under the lock.
    from projects.roi.rollup import roi_rollup_drift

    months = [dt.date(2025, m, 1) for m in (1, 2, 3)]
    for month in months:
        roi_services.fx_rate_set(by=admin_user, currency="USD", month=month, rate=D("0.9"))
    entries = [
        roi_services.roi_entry_create(by=team_lead, project=project, month=month, kind="value", category="productivity",
                                      basis=basis, amount=D("100"), currency="USD")
        for month in months for basis in ("planned", "actual")
    ]  # fmt: skip

    def edit(entry):
        return lambda: roi_services.roi_entry_update(by=team_lead, entry=entry, amount=D("200"))

    def new_rate(month):
        return lambda: roi_services.fx_rate_set(by=admin_user, currency="USD", month=month, rate=D("1.5"))

    outcomes = run_at_once([edit(e) for e in entries] + [new_rate(m) for m in months], what="a writer thread")
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert set(ROIEntry.objects.values_list("amount_reporting", flat=True)) == {D("300.00")}
    assert roi_rollup_drift() == 0
    assert verify_chain().ok
