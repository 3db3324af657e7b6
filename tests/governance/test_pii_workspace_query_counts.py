"""The DPO's workspace costs a fixed number of queries however many datasets, columns and labels there are
(no N+1): measured with 5 and with 50 datasets of 10 columns each (a page shows 20), half the columns
classified and propagated downstream; its CSV export likewise."""

from __future__ import annotations

import pytest

from governance.compliance import services, taxonomy
from governance.models import Classification, DatasetField, Origin
from tests.pii_factories import dataset, flow
from tests.query_counts import assert_queries, csv_line_count, get_counting_queries

pytestmark = pytest.mark.django_db
COLUMNS = ["customer_id", "email", "phone", "amount", "dob", "segment", "iban", "notes", "postcode", "plan"]


def add_datasets(start: int, n: int, by) -> None:
    """n raw datasets of 10 columns, each copied column by column to a staging dataset; 5 columns classified."""
    roots = []
    for i in range(start, start + n, 2):
        raw, stg = dataset(f"raw.t{i:03}", *COLUMNS), dataset(f"stg.t{i:03}", *COLUMNS)
        flow(raw, stg, [(c, c) for c in COLUMNS], job=f"stage_{i}")
        for f in DatasetField.objects.filter(dataset=raw, name__in=COLUMNS[:5]):
            kind = "email"
            roots.append(Classification(dataset=raw, field=f, pii_kind=kind, gdpr_class=taxonomy.gdpr_class(kind),
                                        origin=Origin.MANUAL, asserted_by=by))  # fmt: skip
    Classification.objects.bulk_create(roots)
    services.classifications_recompute_all()


# Budget measured when the page was written: session, user, roles; count, page of datasets; their fields,
# their labels; the waiting tiles (suggested columns, datasets of them, PII without a record, unmet
# obligations with the visible projects), and the filter form's owner and namespace choices.
@pytest.mark.parametrize(
    ("url", "persona", "budget"),
    # 16 = the catalogue's 14 and 2 for how far lineage is behind (the queue line, lineage_tags.lineage_queue).
    [("/governance/pii/", "risk_officer", 16), ("/governance/pii/?pii=suggested&q=t0", "executive", 16)],
)
def test_the_catalogue_costs_the_same_queries_at_5_or_50_datasets(request, client, risk_officer, url, persona, budget):
    client.force_login(request.getfixturevalue(persona))
    add_datasets(0, 6, risk_officer)
    small, small_response = get_counting_queries(client, url)
    add_datasets(6, 44, risk_officer)
    large, large_response = get_counting_queries(client, url)
    assert len(large_response.context["datasets"]) > len(small_response.context["datasets"])
    assert sum(len(d.columns) for d in large_response.context["datasets"]) >= 100
    assert_queries(small, large, at_most=budget, what=f"{url} at 6 and 50 datasets")


def test_the_catalogue_export_costs_the_same_queries_at_5_or_50_datasets(client, risk_officer):
    client.force_login(risk_officer)
    add_datasets(0, 6, risk_officer)
    small, small_response = get_counting_queries(client, "/governance/pii/", {"export": "csv"})
    add_datasets(6, 44, risk_officer)
    large, large_response = get_counting_queries(client, "/governance/pii/", {"export": "csv"})
    assert csv_line_count(large_response) == 500
    assert csv_line_count(small_response) == 60
    assert_queries(small, large, at_most=8, what="the catalogue's CSV export")
