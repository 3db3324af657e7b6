"""API tokens are scoped to OpenLineage namespaces (#13 part 3): a token posts an event only when the
job's (or the dataset's) namespace and every output's are in its scope; inputs may come from
anywhere; a token without namespaces posts nowhere unless KEEL_LINEAGE_DEFAULT_NAMESPACES says so;
people signed in are not scoped. Admins set the scope in the admin or with a command, audited."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.errors import DomainError
from core.models import ApiToken
from core.roles import Role
from core.services import api_token_create, api_token_scope, namespace_patterns
from governance.lineage.scopes import matches, written_namespaces
from governance.models import AuditEvent, Dataset, Job, LineageEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openlineage"
URL = "/api/v1/lineage"
# Airflow task COMPLETE: job namespace "airflow", inputs in gs://mock-bucket, output in bigquery.
AIRFLOW = "airflow/line_03.json"
# A DatasetEvent: dataset namespace "openlineage".
DATASET_EVENT = "core/serde_example_dataset_event.json"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def post_with(client, key: str, body: dict):
    return client.post(URL, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def token(*patterns: str) -> str:
    machine = make_user(None, Role.TEAM_LEAD)
    return api_token_create(user=machine, name="pipeline", lineage_namespaces=list(patterns))[1]


def stored_nothing() -> bool:
    return not (LineageEvent.objects.exists() or Dataset.objects.exists() or Job.objects.exists())


def test_the_real_airflow_event_writes_its_job_and_output_namespaces():
    body = load(AIRFLOW)
    assert written_namespaces(body) == ["airflow", "bigquery"]
    assert {i["namespace"] for i in body["inputs"]} == {"gs://mock-bucket"}


@pytest.mark.parametrize(
    "patterns",
    [("airflow", "bigquery"), ("air*", "big*"), ("*",)],
    ids=["exact", "prefix", "everything"],
)
def test_a_token_posts_inside_its_namespaces_and_inputs_come_from_anywhere(client, patterns):
    response = post_with(client, token(*patterns), load(AIRFLOW))
    assert response.status_code == 201, response.content
    assert Dataset.objects.filter(namespace="gs://mock-bucket").exists()  # the input, read from elsewhere


@pytest.mark.parametrize(
    ("patterns", "outside"),
    [
        (("bigquery",), "airflow"),  # the job's namespace
        (("airflow",), "bigquery"),  # an output's namespace
        (("airflows", "bigquery.*"), "airflow, bigquery"),  # near misses are misses
    ],
)
def test_a_token_is_refused_outside_its_namespaces_and_nothing_is_stored(client, patterns, outside):
    key = token(*patterns)
    audit_before = AuditEvent.objects.count()

    response = post_with(client, key, load(AIRFLOW))

    assert response.status_code == 403
    answer = response.json()
    assert answer["code"] == "namespace_out_of_scope"
    assert answer["detail"].startswith(f"This API token may not post lineage to {outside}: its namespaces are ")
    assert stored_nothing()
    assert AuditEvent.objects.count() == audit_before


def test_a_dataset_event_is_scoped_by_its_dataset_namespace(client):
    body = load(DATASET_EVENT)
    assert post_with(client, token("other"), body).status_code == 403
    assert post_with(client, token("openlineage"), body).status_code == 201


def test_a_token_without_namespaces_posts_nowhere_unless_a_default_is_configured(client, settings):
    key = token()
    refused = post_with(client, key, load(AIRFLOW))
    assert refused.status_code == 403
    assert "it has no lineage namespaces (and KEEL_LINEAGE_DEFAULT_NAMESPACES gives none)" in refused.json()["detail"]

    settings.KEEL_LINEAGE_DEFAULT_NAMESPACES = ["airflow", "bigquery"]
    assert post_with(client, key, load(AIRFLOW)).status_code == 201

    settings.KEEL_LINEAGE_DEFAULT_NAMESPACES = ["*"]
    assert post_with(client, token("nothing-here"), load(DATASET_EVENT)).status_code == 403  # its own win


def test_people_signed_in_are_not_scoped(client, admin_user, team_lead):
    client.force_login(admin_user)
    assert client.post(URL, data=json.dumps(load(AIRFLOW)), content_type="application/json").status_code == 201


def test_a_reader_token_is_still_refused_by_role_whatever_its_namespaces(client, executive):
    _, key = api_token_create(user=executive, lineage_namespaces=["*"])
    assert post_with(client, key, load(AIRFLOW)).status_code == 403
    assert stored_nothing()


# --- setting the scope ---------------------------------------------------------------------------------


def test_patterns_are_checked_and_normalised():
    assert namespace_patterns(" s3://lake ,\npostgres://crm:5432*,s3://lake,") == ["s3://lake", "postgres://crm:5432*"]
    for bad in ("s3://*/raw", "a b", "**"):
        with pytest.raises(DomainError, match="is not a namespace pattern"):
            namespace_patterns([bad])
    assert matches("postgres://crm:5432", "postgres://crm:5432*")
    assert not matches("postgres://crm:54321x", "postgres://crm:5432")


def test_scoping_a_token_is_audited_and_a_revoked_one_cannot_be_scoped(admin_user, team_lead):
    scoped, _ = api_token_create(user=team_lead, lineage_namespaces=["etl"], by=admin_user)
    created = AuditEvent.objects.get(action="api_token.created")
    assert created.after["lineage_namespaces"] == ["etl"]

    api_token_scope(token=scoped, lineage_namespaces=["etl", "s3://lake*"], by=admin_user)

    event = AuditEvent.objects.get(action="api_token.scoped")
    assert (event.before, event.after) == (
        {"lineage_namespaces": ["etl"]},
        {"lineage_namespaces": ["etl", "s3://lake*"]},
    )
    assert event.actor_id == admin_user.pk
    scoped.revoked_at = scoped.created_at
    scoped.save(update_fields=["revoked_at"])
    with pytest.raises(DomainError, match="already revoked"):
        api_token_scope(token=scoped, lineage_namespaces=["x"], by=admin_user)


def test_an_admin_sets_a_tokens_namespaces_in_the_admin(client, admin_user, team_lead):
    scoped, _ = api_token_create(user=team_lead)
    client.force_login(admin_user)
    url = f"/admin/core/apitoken/{scoped.pk}/change/"
    assert "Lineage namespaces" in client.get(url).content.decode()

    refused = client.post(url, {"namespaces": "s3://*/raw"})
    assert refused.status_code == 200
    assert "is not a namespace pattern" in refused.content.decode()

    saved = client.post(url, {"namespaces": "etl\r\npostgres://crm:5432*"})
    assert saved.status_code == 302
    assert ApiToken.objects.get(pk=scoped.pk).lineage_namespaces == ["etl", "postgres://crm:5432*"]
    assert AuditEvent.objects.get(action="api_token.scoped").actor_id == admin_user.pk


def test_the_commands_create_and_scope_a_token(team_lead):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", team_lead.username, "--namespace", "etl", "--namespace", "s3://lake*",
                 stdout=out, stderr=err)  # fmt: skip
    created = ApiToken.objects.get(user=team_lead)
    assert created.lineage_namespaces == ["etl", "s3://lake*"]

    call_command("scope_api_token", created.prefix, "bigquery", stdout=out)
    assert ApiToken.objects.get(pk=created.pk).lineage_namespaces == ["bigquery"]
    assert "may post lineage to: bigquery." in out.getvalue()
    call_command("scope_api_token", created.prefix, stdout=out)
    assert ApiToken.objects.get(pk=created.pk).lineage_namespaces == []
    with pytest.raises(CommandError, match="is not a namespace pattern"):
        call_command("scope_api_token", created.prefix, "a*b")
    with pytest.raises(CommandError, match="No token with prefix"):
        call_command("scope_api_token", "nope", "etl")
