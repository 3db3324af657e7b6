"""The PII and compliance pages and API: what each shows, the writes they take, and the refusals."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.compliance import services
from governance.models import AuditEvent, Classification, Dataset, Evidence, LineageEvent, Obligation
from tests.factories import make_user
from tests.pii_factories import dataset, fld, flow, model_dataset
from tests.signoff_factories import assess

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def graph(project, risk_officer):
    raw = dataset("raw.customers", "email", "age")
    stg = dataset("stg.customers", "email", "email_hash", "age_band")
    flow(raw, stg, [("email", "email"), ("email", "email_hash", "DIRECT", "TRANSFORMATION", True),
                    ("age", "age_band", "DIRECT", "AGGREGATION")], job="dbt.stg_customers")  # fmt: skip
    model = model_dataset(project, "churn", version="2", inputs=[stg])
    assess(project, "high")
    root = services.classification_assert(by=risk_officer, dataset=raw, field=fld(raw, "email"), pii_kind="email")
    return raw, stg, model, root


# --- pages ----------------------------------------------------------------------------------------


def test_the_inventory_lists_every_classification_and_filters_by_class(client, executive, graph):
    client.force_login(executive)
    response = client.get("/governance/pii/labels/")
    assert response.status_code == 200
    rows = list(response.context["rows"])
    assert [(c.dataset.name, c.field.name if c.field else "", c.origin, c.treatment) for c in rows] == [
        ("models:/churn/2", "", "derived", "plain"),
        ("raw.customers", "email", "manual", "plain"),
        ("stg.customers", "email", "derived", "plain"),
        ("stg.customers", "email_hash", "derived", "pseudonymised"),
    ]
    assert client.get("/governance/pii/labels/", {"gdpr_class": "special"}).context["page_obj"].paginator.count == 0
    page = client.get("/governance/pii/labels/?gdpr_class=special").content.decode()
    assert "No classification matches these filters." in page


def test_the_dataset_page_shows_fields_classifications_with_their_path_and_neighbours(client, executive, graph):
    raw, stg, _, _ = graph
    client.force_login(executive)
    html = client.get(f"/governance/datasets/{stg.pk}/").content.decode()
    assert "email_hash" in html
    assert "Pseudonymised (masked)" in html
    assert "via dbt.stg_customers (direct transformation, masked)" in html
    assert f'href="/governance/datasets/{raw.pk}/"' in html
    assert "Classify a field or the dataset" not in html  # executives read, they do not classify


def test_a_risk_officer_classifies_a_field_on_the_dataset_page_and_it_propagates(client, risk_officer, graph):
    raw, *_ = graph
    client.force_login(risk_officer)
    response = client.post(f"/governance/datasets/{raw.pk}/classify/", {"field": fld(raw, "age").pk, "pii_kind": "age"})
    assert response.status_code == 302
    assert Classification.objects.get(derived_from__field__name="age", field__name="age_band").treatment == "aggregated"
    # An unknown kind is not among the choices: the form refuses it, nothing is saved.
    response = client.post(f"/governance/datasets/{raw.pk}/classify/", {"pii_kind": "shoe_size"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Classification.objects.filter(pii_kind="shoe_size").exists()


def test_the_compliance_record_is_saved_from_the_dataset_page_and_audited(client, risk_officer, graph):
    raw, *_ = graph
    client.force_login(risk_officer)
    response = client.post(f"/governance/datasets/{raw.pk}/compliance/", {"legal_basis": "contract",
                                                                          "retention_days": "400"})  # fmt: skip
    assert response.status_code == 302
    raw.refresh_from_db()
    assert (raw.legal_basis, raw.retention_days) == ("contract", 400)
    event = AuditEvent.objects.get(action="dataset.compliance_updated")
    assert event.after == {"legal_basis": "contract", "retention_days": 400}


def test_the_compliance_tab_shows_coverage_obligations_and_the_pii_path_graph(client, risk_officer, project, graph):
    client.force_login(risk_officer)
    response = client.get(f"/governance/projects/{project.slug}/compliance/")
    assert response.status_code == 200
    ctx = response.context
    assert (ctx["coverage"]["required"], ctx["coverage"]["met"]) == (7, 0)
    assert [o.rule_id for o in ctx["obligations"]][:2] == ["AIA-10-DATA-GOVERNANCE", "AIA-11-TECHNICAL-DOCUMENTATION"]
    nodes = [t for trace in ctx["graph"]["data"] if trace["mode"] == "markers+text" for t in trace["text"]]
    hops = [t for trace in ctx["graph"]["data"] if trace["mode"] == "markers" for t in trace["text"]]
    assert sorted(hops) == ["dbt.stg_customers: email", "linked to the model version: email", "train churn: email"]
    # The model keeps one label per root, by its most exposing path: the plain copy, not the hash.
    assert set(nodes) == {"raw.customers.email", "stg.customers.email", "models:/churn/2", "churn v2"}
    html = response.content.decode()
    assert 'id="pii-graph"' in html
    assert 'id="pii-graph-data"' in html
    assert "raw.customers.email → stg.customers.email (dbt.stg_customers) → models:/churn/2 (train churn)" in html


def test_evidence_is_uploaded_on_the_tab_and_served_only_to_who_may_see_the_project(
    client, team_lead, other_lead, project, graph
):
    dpia = Obligation.objects.get(project=project, rule_id="GDPR-35-DPIA")
    client.force_login(team_lead)
    upload = SimpleUploadedFile("dpia.pdf", b"%PDF-1.4 dpia", content_type="application/pdf")
    response = client.post(f"/governance/obligations/{dpia.pk}/evidence/", {f"o{dpia.pk}-file": upload,
                                                                             f"o{dpia.pk}-note": "v1"})  # fmt: skip
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    dpia.refresh_from_db()
    assert dpia.status == "met"
    download = client.get(f"/governance/evidence/{evidence.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 dpia"
    client.force_login(other_lead)
    assert client.get(f"/governance/evidence/{evidence.pk}/file/").status_code == 404


def test_evidence_without_a_link_or_file_is_refused_on_the_tab(client, team_lead, project, graph):
    dpia = Obligation.objects.get(project=project, rule_id="GDPR-35-DPIA")
    client.force_login(team_lead)
    response = client.post(f"/governance/obligations/{dpia.pk}/evidence/", {f"o{dpia.pk}-note": "nothing"})
    assert response.status_code == 200
    assert services.NO_EVIDENCE in response.content.decode()
    assert not Evidence.objects.exists()


# --- API ------------------------------------------------------------------------------------------


def test_the_api_asserts_a_classification_and_it_propagates(client, risk_officer, graph):
    raw, *_ = graph
    client.force_login(risk_officer)
    body = {"dataset": raw.pk, "field": fld(raw, "age").pk, "pii_kind": "date-of-birth"}
    response = client.post("/api/v1/classifications/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["pii_kind"], body["gdpr_class"], body["origin"], body["asserted_by"]) == (
        "date_of_birth",
        "personal",
        "manual",
        "risk",
    )
    derived = client.get("/api/v1/classifications/", {"origin": "derived", "pii_kind": "date_of_birth"}).json()
    assert [(r["dataset_name"], r["field_name"], r["treatment"], r["verified"], r["hops"])
            for r in derived["results"]] == [
        ("models:/churn/2", None, "aggregated", False, 2),  # trained on it, without column lineage
        ("stg.customers", "age_band", "aggregated", True, 1),
    ]  # fmt: skip


def test_the_api_refuses_an_unknown_pii_kind_and_stores_nothing(client, risk_officer, graph):
    raw, *_ = graph
    client.force_login(risk_officer)
    before = (Classification.objects.count(), AuditEvent.objects.count())
    response = client.post("/api/v1/classifications/", {"dataset": raw.pk, "pii_kind": "shoe_size"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["pii_kind"][0].startswith("Unknown PII kind 'shoe_size'. Known kinds: personal_data, name,")
    assert (Classification.objects.count(), AuditEvent.objects.count()) == before


def test_an_openlineage_event_with_an_unknown_pii_tag_is_refused_with_a_400_and_nothing_applied(client, admin_user):
    event = {
        "eventTime": "2026-11-27T11:00:00Z", "producer": "https://example.org/catalog",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "postgres://db:5432", "name": "crm.people", "facets": {"tags": {
            "_producer": "https://example.org/catalog",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
            "tags": [{"key": "pii", "value": "favourite_colour", "field": "colour"}]}}},
    }  # fmt: skip
    client.force_login(admin_user)
    response = client.post("/api/v1/lineage", json.dumps(event), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_pii_kind"
    assert "Unknown PII kind 'favourite_colour'" in response.json()["detail"]
    # The raw event is kept, marked refused when applied; nothing of it reached the graph.
    stored = LineageEvent.objects.get()
    assert stored.applied_at is not None
    assert "Unknown PII kind 'favourite_colour'" in stored.apply_error
    assert not Dataset.objects.exists()
    assert not Classification.objects.exists()


def test_the_api_retracts_a_manual_assertion_but_not_a_derived_label(client, risk_officer, graph):
    _, _, _, root = graph
    client.force_login(risk_officer)
    derived = Classification.objects.filter(derived_from=root).first()
    response = client.delete(f"/api/v1/classifications/{derived.pk}/")
    assert response.status_code == 400
    assert f"derived along lineage from #{root.pk}" in response.json()["detail"]
    assert client.delete(f"/api/v1/classifications/{root.pk}/").status_code == 204
    assert not Classification.objects.exists()


def test_obligations_are_scoped_to_the_projects_the_caller_may_see(client, team_lead, other_lead, project, graph):
    client.force_login(team_lead)
    mine = client.get("/api/v1/obligations/").json()
    assert mine["count"] == 7
    assert {o["project"] for o in mine["results"]} == {project.slug}
    client.force_login(other_lead)
    assert client.get("/api/v1/obligations/").json()["count"] == 0


def test_evidence_is_given_over_the_api_as_a_link_or_a_file(client, team_lead, project, graph):
    logging = Obligation.objects.get(project=project, rule_id="AIA-12-LOGGING")
    client.force_login(team_lead)
    response = client.post("/api/v1/evidence/", {"obligation": logging.pk, "link": "https://wiki.example/logging"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert (response.json()["is_stale"], response.json()["given_by"]) == (False, "lead")
    upload = SimpleUploadedFile("oversight.txt", b"the procedure", content_type="text/plain")
    oversight = Obligation.objects.get(project=project, rule_id="AIA-14-HUMAN-OVERSIGHT")
    response = client.post("/api/v1/evidence/", {"obligation": oversight.pk, "file": upload})
    assert response.status_code == 201, response.content
    assert response.json()["file"].endswith(f"/governance/evidence/{response.json()['id']}/file/")
    statuses = dict(Obligation.objects.filter(project=project).values_list("rule_id", "status"))
    assert (statuses["AIA-12-LOGGING"], statuses["AIA-14-HUMAN-OVERSIGHT"]) == ("met", "met")
    assert client.get("/api/v1/evidence/").json()["count"] == 2


def test_a_reader_role_cannot_classify(client, executive, graph):
    raw, *_ = graph
    client.force_login(executive)
    response = client.post("/api/v1/classifications/", {"dataset": raw.pk, "pii_kind": "email"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 403
    assert make_user  # factories import kept for fixtures
