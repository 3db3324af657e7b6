"""Role grants and revocations reach the audit trail whichever path makes them — the admin's user form, the
ORM from either side of User.groups, the grant_role/revoke_role commands — with the actor and the role,
and the chain still verifies; a refused grant changes nothing and records nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from core.roles import Role
from governance.models import AuditEvent
from tests.admin_forms import admin_form_data
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def events_since(seq: int, prefix: str = "user.") -> list[tuple]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq, action__startswith=prefix)
        .order_by("seq")
        .values_list("action", "actor_repr", "object_type", "object_id", "before", "after")
    )


def head() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def chain_verifies() -> None:
    call_command("verify_audit")  # exits non-zero (SystemExit/CommandError) on a broken chain


def group(role: Role) -> Group:
    return Group.objects.get(name=role.value)


def test_admin_adding_a_user_to_a_role_group_is_audited_with_the_admin_as_actor(admin_client, no_role_user):
    url = f"/admin/auth/user/{no_role_user.pk}/change/"
    start = head()
    body = admin_form_data(admin_client.get(url)) | {"groups": [str(group(Role.RISK_OFFICER).pk)]}

    response = admin_client.post(url, body)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert list(no_role_user.groups.values_list("name", flat=True)) == [Role.RISK_OFFICER.value]
    assert events_since(start) == [
        ("user.role_granted", "admin", "auth.user", str(no_role_user.pk), None, {"role": "Risk Officer"}),
    ]
    event = AuditEvent.objects.get(seq=start + 1)
    assert event.request_id  # the admin request that made the grant
    chain_verifies()


def test_admin_removing_a_role_and_making_a_superuser_are_audited(admin_client):
    lead = make_user("lead2", Role.TEAM_LEAD)
    url = f"/admin/auth/user/{lead.pk}/change/"
    start = head()
    body = admin_form_data(admin_client.get(url)) | {"groups": [], "is_superuser": "on", "is_staff": "on"}

    assert admin_client.post(url, body).status_code == 302

    assert events_since(start) == [
        ("user.access_changed", "admin", "auth.user", str(lead.pk),
         {"is_staff": False, "is_superuser": False}, {"is_staff": True, "is_superuser": True}),
        ("user.role_revoked", "admin", "auth.user", str(lead.pk), {"role": "Team Lead"}, None),
    ]  # fmt: skip
    chain_verifies()


def test_admin_saving_a_user_unchanged_records_nothing(admin_client, team_lead):
    url = f"/admin/auth/user/{team_lead.pk}/change/"
    body = admin_form_data(admin_client.get(url))
    start = head()

    assert admin_client.post(url, body).status_code == 302

    assert events_since(start) == []


def test_orm_grants_and_revocations_from_either_side_are_each_audited_as_the_system(team_lead, no_role_user):
    risk, dpo = group(Role.RISK_OFFICER), group(Role.COMPLIANCE)
    start = head()

    no_role_user.groups.add(risk)  # forward
    dpo.user_set.add(no_role_user, team_lead)  # reverse, two users at once
    no_role_user.groups.add(risk)  # already held: nothing changes, nothing recorded
    risk.user_set.remove(no_role_user)  # reverse remove
    no_role_user.groups.clear()  # forward clear: names no rows in its signal
    dpo.user_set.clear()  # reverse clear
    team_lead.groups.set([risk])  # set: removes Team Lead, adds Risk Officer

    u, lead = str(no_role_user.pk), str(team_lead.pk)
    assert events_since(start) == [
        ("user.role_granted", "system", "auth.user", u, None, {"role": "Risk Officer"}),
        ("user.role_granted", "system", "auth.user", lead, None, {"role": "Compliance Officer"}),
        ("user.role_granted", "system", "auth.user", u, None, {"role": "Compliance Officer"}),
        ("user.role_revoked", "system", "auth.user", u, {"role": "Risk Officer"}, None),
        ("user.role_revoked", "system", "auth.user", u, {"role": "Compliance Officer"}, None),
        ("user.role_revoked", "system", "auth.user", lead, {"role": "Compliance Officer"}, None),
        ("user.role_revoked", "system", "auth.user", lead, {"role": "Team Lead"}, None),
        ("user.role_granted", "system", "auth.user", lead, None, {"role": "Risk Officer"}),
    ]
    assert sorted(team_lead.groups.values_list("name", flat=True)) == ["Risk Officer"]
    chain_verifies()


def test_model_permissions_granted_to_users_and_groups_are_audited(no_role_user):
    perm = Permission.objects.get(content_type__app_label="auth", codename="change_user")
    start = head()

    no_role_user.user_permissions.add(perm)
    group(Role.EXECUTIVE).permissions.add(perm)
    no_role_user.user_permissions.remove(perm)

    exec_group = str(group(Role.EXECUTIVE).pk)
    assert events_since(start, prefix="") == [
        ("user.permission_granted", "system", "auth.user", str(no_role_user.pk), None,
         {"permission": "auth.change_user"}),
        ("group.permission_granted", "system", "auth.group", exec_group, None, {"permission": "auth.change_user"}),
        ("user.permission_revoked", "system", "auth.user", str(no_role_user.pk),
         {"permission": "auth.change_user"}, None),
    ]  # fmt: skip


def test_the_grant_role_and_revoke_role_commands_are_audited(no_role_user):
    start = head()

    call_command("grant_role", "norole", "risk officer")
    call_command("revoke_role", "norole", "RISK_OFFICER")

    assert events_since(start) == [
        ("user.role_granted", "system", "auth.user", str(no_role_user.pk), None, {"role": "Risk Officer"}),
        ("user.role_revoked", "system", "auth.user", str(no_role_user.pk), {"role": "Risk Officer"}, None),
    ]
    chain_verifies()


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("grant_role", ("norole", "Overlord"), "No role named 'Overlord'"),
        ("grant_role", ("nobody", "Executive"), "No user named 'nobody'"),
        ("grant_role", ("lead", "Team Lead"), "lead already holds the role Team Lead"),
        ("revoke_role", ("norole", "Executive"), "norole does not hold the role Executive"),
    ],
)
def test_a_refused_grant_or_revocation_changes_nothing_and_records_nothing(
    no_role_user, team_lead, command, args, message
):
    events, memberships = AuditEvent.objects.count(), Group.user_set.through.objects.count()

    with pytest.raises(CommandError, match=message):
        call_command(command, *args)

    assert (AuditEvent.objects.count(), Group.user_set.through.objects.count()) == (events, memberships)


def test_a_last_login_update_is_not_an_access_change(team_lead):
    from django.utils import timezone

    start = head()
    team_lead.last_login = timezone.now()
    team_lead.save(update_fields=["last_login"])
    team_lead.first_name = "Renamed"
    team_lead.save()

    assert events_since(start) == []


def test_a_role_grant_reads_as_a_sentence_naming_the_admin_the_role_and_the_user(admin_client, no_role_user):
    from governance.audit.sentences import describe_events

    url = f"/admin/auth/user/{no_role_user.pk}/change/"
    body = admin_form_data(admin_client.get(url)) | {"groups": [str(group(Role.EXECUTIVE).pk)]}
    admin_client.post(url, body)

    [described] = describe_events([AuditEvent.objects.get(action="user.role_granted")])
    admin_name = AuditEvent.objects.get(action="user.role_granted").actor_repr
    assert admin_name == "admin"
    assert described.sentence.endswith("granted the role Executive to user “norole”")


def test_creating_a_superuser_is_audited_and_an_ordinary_account_is_not(db):
    from django.contrib.auth import get_user_model

    start = head()
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org")
    get_user_model().objects.create_user("plain", password="x")

    root = get_user_model().objects.get(username="root")
    assert events_since(start) == [
        ("user.created", "system", "auth.user", str(root.pk), None,
         {"username": "root", "is_active": True, "is_staff": True, "is_superuser": True}),
    ]  # fmt: skip


def test_deleting_an_account_or_a_role_group_is_audited_with_the_access_that_went_with_it(admin_client):
    lead = make_user("lead3", Role.TEAM_LEAD, Role.EXECUTIVE)
    make_user("exec3", Role.EXECUTIVE)
    executives = group(Role.EXECUTIVE)
    start = head()

    assert admin_client.post(f"/admin/auth/user/{lead.pk}/delete/", {"post": "yes"}).status_code == 302
    executives_pk = executives.pk
    executives.delete()

    assert events_since(start, prefix="") == [
        ("user.deleted", "admin", "auth.user", str(lead.pk),
         {"username": "lead3", "roles": ["Executive", "Team Lead"], "is_active": True, "is_staff": False,
          "is_superuser": False}, None),
        ("group.deleted", "system", "auth.group", str(executives_pk), {"name": "Executive", "members": ["exec3"]},
         None),
    ]  # fmt: skip
    chain_verifies()
