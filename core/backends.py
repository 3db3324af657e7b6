"""Roles decide what the Django admin allows, as they do everywhere else in Keel."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from .roles import is_admin


class AdminRoleBackend(BaseBackend):
    """Members of the Admin group hold every model permission (they still need staff status for /admin/).

    Without this, an Admin who is not a superuser would meet 403 on every admin page, because the
    group carries no Django model permissions: Keel's permissions live in code, not in those rows.
    """

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return bool(user_obj.is_active and is_admin(user_obj))

    def has_module_perms(self, user_obj, app_label) -> bool:
        return bool(user_obj.is_active and is_admin(user_obj))
