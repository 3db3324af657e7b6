"""The DPO's workspace: name-based suggestions (never applied by themselves), bulk classification across
datasets (one transaction and one audit event; one refused column refuses all), the catalogue's filters
and marks, and its permission (classifiers act, every role reads)."""

from __future__ import annotations

import pytest

from core.errors import DomainError, PermissionDeniedError
from core.roles import Role
from governance.compliance import bulk, suggestions
from governance.models import AuditEvent, Classification, Obligation, Origin
from tests.factories import make_user
from tests.pii_factories import dataset, fld, flow, model_dataset
from tests.signoff_factories import assess

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(db):
    return make_user("dpo", Role.COMPLIANCE)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("email", "email"), ("e_mail", "email"), ("customer_email", "email"), ("emailAddress", "email"),
        ("iban", "financial"), ("dob", "date_of_birth"), ("birth_date", "date_of_birth"),
        ("phone", "phone"), ("msisdn", "phone"), ("mobile_number", "phone"), ("ssn", "national_id"),
        ("national_id", "national_id"), ("street", "address"), ("home_address", "address"),
        ("postcode", "address"), ("ip", "online_identifier"), ("ip_address", "online_identifier"),
        ("first_name", "name"), ("lastName", "name"), ("surname", "name"),
        ("name", None), ("product_name", None), ("emailed_count", None), ("zipper", None), ("amount", None),
        ("description", None), ("shipping", None),
        # A yes/no flag about a kind of data is not that data.
        ("has_phone", None), ("is_email_verified", None), ("hasEmail", None), ("phone_is_verified", "phone"),
    ],
)  # fmt: skip
def test_names_suggest_kinds(name, kind):
    assert suggestions.from_name(name) == kind


@pytest.mark.parametrize("name", ["email", "e_mail", "customer_email", "iban", "dob", "ip_address", "postcode"])
def test_the_database_filter_agrees_with_python(name):
    ds = dataset("crm.customers", name, "amount", "product_name")
    found = set(ds.fields.filter(suggestions.name_q()).values_list("name", flat=True))
    assert found == {name}


def test_the_database_filter_skips_flags_like_python():
    ds = dataset("crm.customers", "phone", "has_phone", "is_email_verified", "amount")
    found = set(ds.fields.filter(suggestions.name_q()).values_list("name", flat=True))
    assert found == {"phone"}


def test_an_inventory_suggestion_comes_first():
    assert suggestions.suggest("notes", "health")[0] == "health"
    assert suggestions.suggest("notes") is None


@pytest.fixture
def world(project):
    """raw.customers (email, phone, amount) → stg.customers (email, phone) → the project's model."""
    assess(project, "high")
    raw = dataset("raw.customers", "email", "phone", "amount")
    crm = dataset("crm.contacts", "iban", "notes")
    stg = dataset("stg.customers", "email", "phone")
    flow(raw, stg, [("email", "email"), ("phone", "phone")], job="stage")
    model_dataset(project, "churn", inputs=[stg])
    return raw, crm, stg


def test_bulk_classification_across_datasets_is_one_write_and_propagates(world, dpo, project):
    raw, crm, _ = world
    before = AuditEvent.objects.count()
    result = bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk, fld(crm, "notes").pk],
                                  pii_kind="e-mail", note="CRM review")  # fmt: skip
    assert result.count == 2
    assert result.datasets == {raw.pk, crm.pk}
    roots = Classification.objects.filter(origin=Origin.MANUAL)
    assert {(r.field.name, r.pii_kind, r.asserted_by, r.note) for r in roots} == {
        ("email", "email", dpo, "CRM review"),
        ("notes", "email", dpo, "CRM review"),
    }
    assert Classification.objects.filter(origin=Origin.DERIVED, dataset__name="stg.customers", field__name="email")
    events = list(AuditEvent.objects.order_by("seq")[before:])
    bulk_events = [e for e in events if e.action == "classification.bulk_asserted"]
    assert len(bulk_events) == 1
    assert bulk_events[0].after["count"] == 2
    assert Obligation.objects.filter(project=project).exists()


def test_a_bad_kind_or_a_missing_column_refuses_everything(world, dpo):
    raw, _crm, _ = world
    with pytest.raises(Exception, match="Unknown PII kind"):
        bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk], pii_kind="shoe-size")
    with pytest.raises(DomainError, match="no longer exist"):
        bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk, 999999], pii_kind="email")
    assert not Classification.objects.exists()


def test_one_column_already_asserted_refuses_the_whole_bulk(world, dpo):
    raw, crm, _ = world
    bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk], pii_kind="email")
    count = Classification.objects.count()
    with pytest.raises(DomainError, match=r"raw.customers.email \(email\) already carries"):
        bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk, fld(crm, "notes").pk], pii_kind="email")
    assert Classification.objects.count() == count


def test_confirm_suggestions_asserts_each_columns_own_kind(world, dpo):
    raw, crm, _ = world
    result = bulk.suggestions_confirm(by=dpo, field_ids=[fld(raw, "phone").pk, fld(crm, "iban").pk])
    assert {(r.field.name, r.pii_kind) for r in result.roots} == {("phone", "phone"), ("iban", "financial")}
    assert AuditEvent.objects.filter(action="classification.suggestions_confirmed").count() == 1


def test_confirm_refuses_a_column_without_suggestion(world, dpo):
    raw, _crm, _ = world
    with pytest.raises(DomainError, match=r"No kind is suggested for raw.customers.amount"):
        bulk.suggestions_confirm(by=dpo, field_ids=[fld(raw, "phone").pk, fld(raw, "amount").pk])
    assert not Classification.objects.exists()


def test_only_classifiers_may_bulk_classify(world, team_lead, executive):
    raw, _, _ = world
    for user in (team_lead, executive):
        with pytest.raises(PermissionDeniedError):
            bulk.fields_classify(by=user, field_ids=[fld(raw, "email").pk], pii_kind="email")
        with pytest.raises(PermissionDeniedError):
            bulk.suggestions_confirm(by=user, field_ids=[fld(raw, "email").pk])
    assert not Classification.objects.exists()


def test_nothing_selected_is_refused(dpo):
    with pytest.raises(Exception, match="Select at least one column"):
        bulk.fields_classify(by=dpo, field_ids=[], pii_kind="email")


# --- the page ----------------------------------------------------------------------------------------


def test_the_workspace_marks_suggested_and_unclassified_columns_and_what_waits(client, world, dpo):
    raw, _crm, _stg = world
    bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk], pii_kind="email")
    client.force_login(dpo)
    response = client.get("/governance/pii/")
    assert response.status_code == 200
    datasets = {d.name: d for d in response.context["datasets"]}
    raw_cols = {f.name: f for f in datasets["raw.customers"].columns}
    assert raw_cols["email"].state == "labelled"
    assert "asserted by dpo" in raw_cols["email"].labels[0].source_text
    assert raw_cols["phone"].state == "suggested"
    assert raw_cols["amount"].state == "unclassified"
    stg_email = {f.name: f for f in datasets["stg.customers"].columns}["email"]
    assert "derived from raw.customers.email, 1 hop" in stg_email.labels[0].source_text
    waiting = response.context["waiting"]
    # phone on raw and stg, iban on crm; and raw, stg, the model dataset carry PII without a record.
    assert waiting["suggested"] == 3
    assert waiting["record_missing"] == 3
    assert waiting["unmet_total"] >= 1
    html = response.content.decode()
    assert "Confirm selected suggestions" in html
    assert 'name="fields"' in html


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"pii": "pii"}, {"raw.customers", "stg.customers", "models:/churn/1"}),
        ({"pii": "none"}, {"crm.contacts"}),
        ({"pii": "suggested"}, {"raw.customers", "stg.customers", "crm.contacts"}),
        ({"pii": "unclassified"}, {"raw.customers", "crm.contacts"}),
        ({"q": "iban"}, {"crm.contacts"}),
        ({"namespace": "mlflow://registry"}, {"models:/churn/1"}),
        ({"record": "missing"}, {"raw.customers", "stg.customers", "models:/churn/1"}),
    ],
)
def test_the_catalogue_filters(client, world, dpo, params, names):
    raw, _, _ = world
    bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk], pii_kind="email")
    client.force_login(dpo)
    response = client.get("/governance/pii/", params)
    assert {d.name for d in response.context["datasets"]} == names


def test_readers_see_no_bulk_controls_and_cannot_post(client, world, executive):
    raw, _, _ = world
    client.force_login(executive)
    html = client.get("/governance/pii/").content.decode()
    assert "Confirm selected suggestions" not in html
    assert 'name="fields"' not in html
    response = client.post("/governance/pii/bulk/", {"fields": [fld(raw, "email").pk], "action": "confirm"})
    assert response.status_code == 403
    assert not Classification.objects.exists()


def test_bulk_post_confirms_and_returns_to_the_same_page(client, world, dpo):
    raw, crm, _ = world
    client.force_login(dpo)
    response = client.post(
        "/governance/pii/bulk/",
        {"fields": [fld(raw, "phone").pk, fld(crm, "iban").pk], "action": "confirm",
         "next": "/governance/pii/?pii=suggested"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/governance/pii/?pii=suggested"
    assert Classification.objects.filter(origin=Origin.MANUAL).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "Confirmed 2 suggested classifications in 2 datasets" in page


def test_a_refused_bulk_post_says_so_and_changes_nothing(client, world, dpo):
    raw, _, _ = world
    client.force_login(dpo)
    data = {"fields": [fld(raw, "email").pk], "action": "classify", "pii_kind": "shoe-size",
            "next": "https://evil.example/"}  # fmt: skip
    response = client.post("/governance/pii/bulk/", data)
    assert response["Location"] == "/governance/pii/"
    assert "Nothing was changed. Unknown PII kind" in client.get("/governance/pii/").content.decode()
    assert not Classification.objects.exists()


def test_the_empty_catalogue_says_what_to_do(client, dpo):
    client.force_login(dpo)
    html = client.get("/governance/pii/").content.decode()
    assert "No datasets are known yet." in html
    assert "register them by hand or import a CSV data inventory" in html


def test_the_dataset_page_marks_each_column_too(client, world, dpo):
    raw, _, _ = world
    bulk.fields_classify(by=dpo, field_ids=[fld(raw, "email").pk], pii_kind="email")
    client.force_login(dpo)
    fields = {f.name: f for f in client.get(f"/governance/datasets/{raw.pk}/").context["fields"]}
    assert {name: f.state for name, f in fields.items()} == {
        "email": "labelled",
        "phone": "suggested",
        "amount": "unclassified",
    }
    assert fields["phone"].suggestion_label == "Phone number"
