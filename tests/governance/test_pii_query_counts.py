"""The PII inventory, the dataset page and the project compliance tab cost a fixed number of queries
however much PII there is (no N+1): each is fetched with 5 and with 60 classified source columns
(each propagated to staging and to the model), and the counts must be equal and within budget."""

from __future__ import annotations

import pytest

from governance.compliance import services, taxonomy
from governance.models import Classification, Obligation, Origin
from tests.pii_factories import dataset, flow, model_dataset
from tests.query_counts import assert_queries, get_counting_queries
from tests.signoff_factories import assess

pytestmark = pytest.mark.django_db
SMALL, LARGE = 5, 60
KINDS = ["email", "phone", "name", "health", "location", "criminal_offence"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(project):
    assess(project, "high")
    raw, stg = dataset("raw.people"), dataset("stg.people")
    model = model_dataset(project, "risk-score", inputs=[stg])
    return raw, stg, model


def add_columns(world, start: int, n: int, by) -> None:
    """n more columns raw.c_i → stg.c_i, each asserted as a PII kind, then one propagation and evaluation."""
    raw, stg, _ = world
    flow(raw, stg, [(f"c{i:03}", f"c{i:03}") for i in range(start, start + n)], job="stage_people")
    Classification.objects.bulk_create(
        Classification(dataset=raw, field=raw.fields.get(name=f"c{i:03}"), pii_kind=KINDS[i % len(KINDS)],
                       gdpr_class=taxonomy.gdpr_class(KINDS[i % len(KINDS)]), origin=Origin.MANUAL, asserted_by=by)
        for i in range(start, start + n)
    )  # fmt: skip
    services.classifications_recompute_all()
    for obligation in Obligation.objects.exclude(status="not_applicable"):
        services.evidence_add(by=by, obligation=obligation, link=f"https://dms.example/{obligation.rule_id}/{start}")


# Budgets are the counts measured when the pages were written. Inventory: session, user, roles, count,
# page. Dataset: + the dataset, its classifications, fields, two neighbour lists, the owner choices.
# Compliance tab: + the project, obligations, evidence (prefetched), the PII reaching it, coverage, team.
PAGES = [
    ("/governance/pii/", "executive", 7),  # 2 of them: how far lineage is behind (the queue line)
    ("/governance/pii/?gdpr_class=special&origin=derived", "executive", 7),
    ("/governance/datasets/{stg}/", "risk_officer", 10),
    ("/governance/projects/fraud-scoring/compliance/", "team_lead", 10),
]


@pytest.mark.parametrize(("url", "persona", "budget"), PAGES, ids=[f"{p[0]} as {p[1]}" for p in PAGES])
def test_pii_pages_cost_the_same_queries_at_5_or_60_columns(request, client, world, risk_officer, url, persona, budget):
    url = url.format(stg=world[1].pk)
    client.force_login(request.getfixturevalue(persona))
    add_columns(world, 0, SMALL, risk_officer)
    small, small_response = get_counting_queries(client, url)
    add_columns(world, SMALL, LARGE - SMALL, risk_officer)
    large, large_response = get_counting_queries(client, url)

    assert Classification.objects.filter(origin="derived").count() == 2 * LARGE
    assert_queries(small, large, at_most=budget, what=f"{url} at {SMALL} and {LARGE} columns")
    if "compliance" in url:
        assert len(large_response.context["reaching"]) == LARGE
        assert sum(len(o.evidence_list) for o in large_response.context["obligations"]) > sum(
            len(o.evidence_list) for o in small_response.context["obligations"]
        )
