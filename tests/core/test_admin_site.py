"""The Django admin follows Keel's roles: Admin-group staff may use it, other roles may not."""

import pytest

from core.roles import Role
from tests.factories import make_user

ADMIN_PAGES = ["/admin/", "/admin/projects/aiproject/", "/admin/projects/team/", "/admin/governance/auditevent/"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_a_staff_member_of_the_admin_group_can_use_the_admin(client, db, url):
    client.force_login(make_user("ops-admin", Role.ADMIN, is_staff=True))
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ADMIN_PAGES[1:])
def test_staff_without_the_admin_role_is_refused(client, db, url):
    client.force_login(make_user("staff-lead", Role.TEAM_LEAD, is_staff=True))
    assert client.get(url).status_code == 403


def test_the_audit_trail_cannot_be_changed_from_the_admin(client, db, project):
    client.force_login(make_user("ops-admin", Role.ADMIN, is_staff=True))
    response = client.get("/admin/governance/auditevent/1/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert client.post("/admin/governance/auditevent/1/delete/").status_code == 403
