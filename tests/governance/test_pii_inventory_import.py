"""Datasets registered by hand and CSV data inventories: every row validated first, a refused file changes
nothing and names each problem by line, what exists is kept, `pii_kind` is a suggestion unless the
importer ticks "apply", and each write is one audit event."""

from __future__ import annotations

import pytest

from core.errors import PermissionDeniedError
from core.roles import Role
from governance.compliance import inventory
from governance.models import AuditEvent, Classification, Dataset, DatasetField, Origin
from tests.factories import make_user
from tests.pii_factories import dataset, flow, model_dataset
from tests.signoff_factories import assess

pytestmark = pytest.mark.django_db

GOOD = b"""namespace,name,field,data_type,description,pii_kind,owner
postgres://crm-db:5432,crm.public.customers,,,,,dpo
postgres://crm-db:5432,crm.public.customers,customer_id,bigint,Surrogate key,,
postgres://crm-db:5432,crm.public.customers,email,varchar,Contact address,e-mail,
postgres://crm-db:5432,crm.public.customers,notes,text,Free text,health,
s3://exports,exports/customers.parquet,birth_date,date,,,
"""


@pytest.fixture
def dpo(db):
    return make_user("dpo", Role.COMPLIANCE, email="dpo@example.org")


def import_(by, data: bytes, **kwargs):
    return inventory.inventory_import(by=by, rows=inventory.inventory_parse(data), source="inv.csv", **kwargs)


def test_an_inventory_creates_datasets_and_columns_and_suggests_its_kinds(dpo):
    result = import_(dpo, GOOD)
    assert (result.datasets_created, result.fields_created, result.suggested, result.asserted) == (2, 4, 2, 0)
    customers = Dataset.objects.get(name="crm.public.customers")
    assert customers.owner == dpo
    assert dict(customers.fields.values_list("name", "suggested_pii_kind")) == {
        "customer_id": "",
        "email": "email",
        "notes": "health",
    }
    assert not Classification.objects.exists()  # suggestions only
    event = AuditEvent.objects.get(action="dataset.inventory_imported")
    assert event.actor_id == dpo.pk
    assert event.after["rows"] == 5


def test_importing_again_changes_nothing_twice_and_fills_what_was_empty(dpo):
    import_(dpo, GOOD)
    DatasetField.objects.filter(name="customer_id").update(description="")
    result = import_(dpo, GOOD)
    assert (result.datasets_created, result.fields_created, result.fields_updated, result.owners_set) == (0, 0, 1, 0)
    assert DatasetField.objects.get(name="customer_id").description == "Surrogate key"


def test_ticking_apply_records_the_kinds_as_the_importers_assertions_and_propagates(dpo, project):
    assess(project, "high")
    import_(dpo, GOOD)
    customers = Dataset.objects.get(name="crm.public.customers")
    model_dataset(project, "churn", inputs=[customers])
    result = import_(dpo, GOOD, apply_kinds=True)
    assert result.asserted == 2
    roots = Classification.objects.filter(origin=Origin.MANUAL)
    assert {(r.field.name, r.pii_kind, r.asserted_by) for r in roots} == {
        ("email", "email", dpo),
        ("notes", "health", dpo),
    }
    assert Classification.objects.filter(origin=Origin.DERIVED, dataset__name="models:/churn/1").count() == 2
    assert project.obligations.exists()
    assert import_(dpo, GOOD, apply_kinds=True).asserted == 0  # already asserted: kept, not doubled


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"namespace,name,field,pii_kind\nns,t,email,shoe-size\n", "Line 2: Unknown PII kind 'shoe-size'"),
        (b"namespace,name,field\n,t,email\n", "Line 2: `namespace` is empty"),
        (b"namespace,name,field,owner\nns,t,email,nobody\n", "no active Keel user with a role is called 'nobody'"),
        (b"namespace,name,field\nns,t,email\nns,t,email\n", "Line 3: column 'email' of t is listed again"),
        (b"namespace,name,pii_kind\nns,t,email\n", "can only be applied"),
        (b"namespace,field\nns,email\n", "The header lacks the column(s) name"),
        (b"namespace,name,colour\nns,t,red\n", "Unknown column(s) in the header: colour"),
        (b"namespace,name\n", "The file has no rows below its header."),
        (b"\xff\xfe\x00n\x00", "not UTF-8"),
        (b"", "no header row"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_whole_with_each_problem(dpo, data, message):
    with pytest.raises(inventory.InventoryRefused) as refused:
        import_(dpo, data)
    assert any(message in e for e in refused.value.errors), refused.value.errors
    assert not Dataset.objects.exists()


def test_one_bad_row_among_good_ones_changes_nothing(dpo):
    bad = GOOD + b"postgres://crm-db:5432,crm.public.orders,total,numeric,,shoe-size,\n"
    before = AuditEvent.objects.count()
    with pytest.raises(inventory.InventoryRefused, match="Line 7: Unknown PII kind"):
        import_(dpo, bad)
    assert not Dataset.objects.exists()
    assert AuditEvent.objects.count() == before


def test_only_classifiers_import_or_register(team_lead, executive):
    for user in (team_lead, executive):
        with pytest.raises(PermissionDeniedError):
            import_(user, GOOD)
        with pytest.raises(PermissionDeniedError):
            inventory.dataset_register(by=user, namespace="ns", name="t", columns=[("a", "", "")])
    assert not Dataset.objects.exists()


def test_registering_by_hand_adds_to_a_dataset_a_producer_reported(dpo):
    existing = dataset("crm.customers", "email", namespace="postgres://db:5432")
    flow(existing, dataset("stg.customers", "email"), [("email", "email")])
    result = inventory.dataset_register(
        by=dpo, namespace="postgres://db:5432", name="crm.customers", dataset_type="TABLE",
        columns=[("email", "varchar", "Contact"), ("iban", "varchar", "")], owner=dpo,
    )  # fmt: skip
    assert (result.datasets_created, result.fields_created) == (0, 1)
    assert set(existing.fields.values_list("name", flat=True)) == {"email", "iban"}
    assert AuditEvent.objects.filter(action="dataset.registered").count() == 1


# --- the pages ---------------------------------------------------------------------------------------


def test_the_import_page_shows_every_error_and_keeps_nothing(client, dpo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(dpo)
    bad = b"namespace,name,field,pii_kind\nns,t,a,shoe\nns,t,b,sock\n"
    response = client.post("/governance/pii/inventory/import/", {"file": SimpleUploadedFile("x.csv", bad)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was imported." in html
    assert "Line 2: Unknown PII kind" in html
    assert "Line 3: Unknown PII kind" in html
    assert not Dataset.objects.exists()


def test_the_import_page_imports_and_sends_the_dpo_to_the_suggestions(client, dpo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(dpo)
    response = client.post("/governance/pii/inventory/import/", {"file": SimpleUploadedFile("inv.csv", GOOD)})
    assert response.status_code == 302
    assert response["Location"] == "/governance/pii/?pii=suggested"
    page = client.get(response["Location"]).content.decode()
    assert "Imported inv.csv: 2 dataset(s) and 4 column(s) added" in page
    assert "named in the data inventory import" in page


def test_the_register_form_registers_and_finds_the_dataset(client, dpo):
    client.force_login(dpo)
    response = client.post("/governance/pii/inventory/register/", {
        "namespace": "postgres://hr:5432", "name": "hr.employees", "dataset_type": "TABLE",
        "columns": "employee_id, bigint\nphone, varchar, \"Work phone, landline\"\n", "owner": dpo.pk,
    })  # fmt: skip
    assert response.status_code == 302
    ds = Dataset.objects.get(name="hr.employees")
    assert dict(ds.fields.values_list("name", "description")) == {"employee_id": "", "phone": "Work phone, landline"}
    assert ds.owner == dpo
    assert "hr.employees" in client.get(response["Location"]).content.decode()


def test_the_template_downloads_and_imports_as_is(client, dpo):
    client.force_login(dpo)
    response = client.get("/governance/pii/inventory/template.csv")
    assert response["Content-Disposition"] == 'attachment; filename="keel-data-inventory-template.csv"'
    result = import_(dpo, response.content)
    assert result.datasets_created == 1
    assert result.suggested == 2
