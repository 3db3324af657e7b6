"""The sign-off policies page: everyone reads the policy in force per tier and its history; risk officers
and admins publish the next version through a validated, audited form; others are refused (403)."""

from __future__ import annotations

import re

import pytest

from governance.models import AuditEvent, SignOffPolicy
from governance.signoff import services as signoff_services
from tests.query_counts import assert_queries, get_counting_queries

pytestmark = pytest.mark.django_db
LIST, PUBLISH = "/governance/signoffs/policies/", "/governance/signoffs/policies/publish/"


def test_everyone_reads_the_policy_in_force_per_tier_and_what_it_requires(client, executive):
    client.force_login(executive)
    response = client.get(LIST)
    assert response.status_code == 200
    assert [(p.tier, p.version, p.versions_count) for p in response.context["policies"]] == [
        ("prohibited", 1, 1),
        ("high", 1, 1),
        ("limited", 1, 1),
        ("minimal", 1, 1),
    ]  # fmt: skip  (the tiers' own order, strictest first)
    html = response.content.decode()
    assert "Risk Officer, Compliance Officer" in html
    assert "never approvable" in html
    assert "every 365 days" in html
    assert PUBLISH not in html  # an executive may not publish
    assert re.search(r'<a href="/governance/signoffs/policies/" aria-current="page">Policies</a>', html)


def test_a_risk_officer_publishes_the_next_version_and_it_is_audited(client, risk_officer):
    client.force_login(risk_officer)
    form = client.get(PUBLISH, {"tier": "limited"})
    assert form.status_code == 200
    assert form.context["form"].initial["required_roles"] == ["Risk Officer"]

    response = client.post(PUBLISH, {
        "tier": "limited", "required_roles": ["Risk Officer", "Compliance Officer"], "min_approvers": "2",
        "recertify_days": "180", "approvable": "on", "note": "After the chatbot incident.",
    })  # fmt: skip

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}#policy-limited"
    policy = SignOffPolicy.objects.get(tier="limited", version=2)
    assert (policy.required_roles, policy.min_approvers, policy.recertify_days, policy.created_by) == (
        ["Risk Officer", "Compliance Officer"], 2, 180, risk_officer,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="signoff_policy.published")
    assert (event.actor_id, event.after["version"], event.after["note"]) == (
        risk_officer.pk, 2, "After the chatbot incident.",
    )  # fmt: skip
    listed = client.get(LIST, {"tier": "limited"})
    assert [(p.tier, p.version) for p in listed.context["history"]] == [("limited", 2), ("limited", 1)]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"tier": "high", "required_roles": ["Risk Officer", "Compliance Officer"], "min_approvers": "1"},
         "min_approvers", "At least 2: each required role needs its own person."),
        ({"tier": "minimal", "min_approvers": "1", "approvable": "on"},
         "required_roles", "An approvable policy needs at least one reviewer role."),
        ({"tier": "prohibited", "min_approvers": "1", "approvable": "on"},
         "required_roles", "An approvable policy needs at least one reviewer role."),
        ({"tier": "galactic", "required_roles": ["Risk Officer"], "min_approvers": "1"},
         "tier", "Select a valid choice. galactic is not one of the available choices."),
        ({"tier": "minimal", "required_roles": ["Risk Officer"], "min_approvers": "0"},
         "min_approvers", "Ensure this value is greater than or equal to 1."),
    ],
)  # fmt: skip
def test_an_invalid_policy_is_refused_with_a_clear_message_and_nothing_is_published(
    client, admin_user, data, field, message
):
    client.force_login(admin_user)
    before = (SignOffPolicy.objects.count(), AuditEvent.objects.count())
    response = client.post(PUBLISH, data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert (SignOffPolicy.objects.count(), AuditEvent.objects.count()) == before


def test_a_team_lead_may_not_publish(client, team_lead):
    client.force_login(team_lead)
    assert client.get(PUBLISH).status_code == 403
    response = client.post(PUBLISH, {"tier": "minimal", "required_roles": ["Risk Officer"], "min_approvers": "1"})
    assert response.status_code == 403
    assert SignOffPolicy.objects.count() == 4


def test_the_policies_page_costs_the_same_queries_at_10_and_100_versions(client, admin_user):
    client.force_login(admin_user)

    def publish(count: int):
        for i in range(count):
            signoff_services.signoff_policy_publish(
                by=admin_user, tier=("minimal", "limited", "high")[i % 3], required_roles=["Risk Officer"],
                min_approvers=1, recertify_days=None, note=f"v{i}",
            )  # fmt: skip

    publish(6)  # with the 4 defaults: 10
    small, response = get_counting_queries(client, LIST)
    assert response.context["page_obj"].paginator.count == 10
    publish(90)
    large, response = get_counting_queries(client, LIST)
    assert response.context["page_obj"].paginator.count == 100
    assert len(response.context["history"]) == 25
    assert_queries(small, large, what="the policies page at 10, then 100 versions")
