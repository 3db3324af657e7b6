"""An ISO 8601 instant in a filter that cannot be converted to UTC (its offset pushes it past year 9999 or
before year 1) is the filter's error — a 400 in the API, the form's error on the page — instead of the
OverflowError the database conversion raised (a 500). Any representable instant is still a fine filter."""

from __future__ import annotations

import datetime as dt

import pytest

from core.dates import INSTANT_UNREPRESENTABLE
from governance.models import AuditEvent
from tests.api_errors import invalid_input

UNREPRESENTABLE = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"]
INSTANT_FILTERS = [("/api/v1/deployments/", "at"), ("/api/v1/audit-events/", "since"),
                   ("/api/v1/audit-events/", "until")]  # fmt: skip


@pytest.mark.parametrize(("url", "name"), INSTANT_FILTERS)
@pytest.mark.parametrize("value", UNREPRESENTABLE)
def test_an_unrepresentable_instant_is_a_400_naming_the_filter(admin_client, url, name, value):
    events = AuditEvent.objects.count()
    response = admin_client.get(url, {name: value})
    assert response.status_code == 400
    assert response.json() == invalid_input(name, INSTANT_UNREPRESENTABLE.format(value=value))
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("url", "name"), INSTANT_FILTERS)
# +16:33: Python takes offsets up to ±23:59, PostgreSQL only to ±15:59 (found by the API contract fuzz: a 500).
@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00", "0308-08-29T02:46:30.88543+16:33"],
)
def test_a_far_but_representable_instant_still_filters(admin_client, url, name, value):
    assert admin_client.get(url, {name: value}).status_code == 200


def test_an_offset_postgresql_cannot_hold_filters_as_the_same_instant_in_utc(admin_client, project):
    newest = AuditEvent.objects.order_by("-seq").first()
    moment = newest.occurred_at.astimezone(dt.timezone(dt.timedelta(hours=16, minutes=33)))

    response = admin_client.get("/api/v1/audit-events/", {"since": moment.isoformat()})

    assert response.status_code == 200
    assert newest.seq in [row["seq"] for row in response.json()["results"]]


def test_the_audit_page_shows_the_error_and_no_rows(admin_client, project):
    value = UNREPRESENTABLE[0]
    response = admin_client.get("/governance/audit/", {"since": value})
    assert response.status_code == 200
    assert response.context["filter"].errors["since"] == [INSTANT_UNREPRESENTABLE.format(value=value)]
    assert list(response.context["page_obj"].object_list) == []
    assert len(admin_client.get("/governance/audit/").context["page_obj"].object_list) > 0
