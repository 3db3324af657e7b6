"""The sign-off policies' history exports as CSV and XLSX under the list rule: the tier filter applies, every
role that reads the page gets the same rows (policies are not team data), cells are formula-safe, and an
unknown tier or format answers 400 instead of exporting everything."""

from __future__ import annotations

import pytest

from governance.signoff import services as signoff_services
from projects.models import RiskTier
from tests.exports import csv_dicts, xlsx_dicts

pytestmark = pytest.mark.django_db
LIST = "/governance/signoffs/policies/"
EVIL = '\x01=HYPERLINK("http://evil.example")'


@pytest.fixture
def published(risk_officer):
    signoff_services.signoff_policy_publish(
        by=risk_officer, tier=RiskTier.HIGH, required_roles=["Risk Officer", "Compliance Officer"], min_approvers=2,
        recertify_days=180, note=EVIL,
    )  # fmt: skip
    signoff_services.signoff_policy_publish(
        by=risk_officer, tier=RiskTier.MINIMAL, required_roles=["Risk Officer"], min_approvers=1,
        recertify_days=None, note="One officer is enough.",
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_history_exports_with_the_tier_filter_and_formula_safe_cells(client, team_lead, published, fmt):
    client.force_login(team_lead)  # policies are everyone's to read, a team lead's export included
    rows = (csv_dicts if fmt == "csv" else xlsx_dicts)(client.get(LIST, {"export": fmt}))
    assert {(r["tier"], str(r["version"])) for r in rows} >= {("high", "2"), ("minimal", "2")}
    high = (csv_dicts if fmt == "csv" else xlsx_dicts)(client.get(LIST, {"export": fmt, "tier": "high"}))
    assert {r["tier"] for r in high} == {"high"}
    newest = next(r for r in high if str(r["version"]) == "2")
    assert newest["required_roles"] == "Risk Officer, Compliance Officer"
    assert newest["published_by"] == "risk"
    assert not str(newest["note"]).startswith(("=", "\x01")), newest["note"]
    assert "HYPERLINK" in str(newest["note"])


def test_an_unknown_tier_shows_the_error_and_no_rows_and_does_not_export(client, executive, published):
    client.force_login(executive)
    page = client.get(LIST, {"tier": "nonsense"})
    assert page.status_code == 200
    assert list(page.context["history"]) == []
    assert "tier" in page.context["filter"].errors
    assert client.get(LIST, {"tier": "nonsense", "export": "csv"}).status_code == 400
    assert client.get(LIST, {"export": "pdf"}).status_code == 400
