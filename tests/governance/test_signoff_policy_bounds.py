"""A sign-off policy's numbers have one bound, on the page and in the API (the model's validators).

The page bounded re-certification to 3,650 days and approvers to 10, the API not at all: a policy with
recertify_days 2147483647 was published (201), and the first approval under it crashed computing its
expiry (timedelta overflow, a 500) — the sign-off expiry far outside any date Keel accepts.
"""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, SignOffPolicy
from governance.models.signoff import MAX_APPROVERS, MAX_RECERTIFY_DAYS
from tests.api_errors import invalid_input

URL = "/api/v1/signoff-policies/"
PUBLISH = "/governance/signoffs/policies/publish/"


def policy(**changes) -> dict:
    return {"tier": "limited", "required_roles": ["Risk Officer"], "min_approvers": 1, "approvable": True, **changes}


def db_state() -> tuple:
    return list(SignOffPolicy.objects.order_by("pk").values()), AuditEvent.objects.count()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"recertify_days": 2147483647}, "recertify_days",
         f"Ensure this value is less than or equal to {MAX_RECERTIFY_DAYS}."),
        ({"recertify_days": MAX_RECERTIFY_DAYS + 1}, "recertify_days",
         f"Ensure this value is less than or equal to {MAX_RECERTIFY_DAYS}."),
        ({"min_approvers": MAX_APPROVERS + 1}, "min_approvers",
         f"Ensure this value is less than or equal to {MAX_APPROVERS}."),
    ],
)  # fmt: skip
def test_the_api_refuses_a_policy_past_the_bounds_and_publishes_nothing(client, risk_officer, changes, field, message):
    client.force_login(risk_officer)
    before = db_state()
    response = client.post(URL, policy(**changes), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == invalid_input(field, message)
    assert db_state() == before


def test_the_api_publishes_a_policy_at_the_bounds(client, risk_officer):
    client.force_login(risk_officer)
    body = policy(recertify_days=MAX_RECERTIFY_DAYS, min_approvers=MAX_APPROVERS)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert (response.json()["recertify_days"], response.json()["min_approvers"]) == (MAX_RECERTIFY_DAYS, MAX_APPROVERS)


def test_the_page_refuses_the_same_bound_with_the_same_message(client, risk_officer):
    client.force_login(risk_officer)
    before = db_state()
    data = {"tier": "limited", "required_roles": ["Risk Officer"], "min_approvers": "1",
            "recertify_days": str(MAX_RECERTIFY_DAYS + 1), "approvable": "on"}  # fmt: skip
    response = client.post(PUBLISH, data)
    assert response.status_code == 200
    assert response.context["form"].errors["recertify_days"] == [
        f"Ensure this value is less than or equal to {MAX_RECERTIFY_DAYS}."
    ]
    assert db_state() == before
