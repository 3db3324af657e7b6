"""Deny-by-default permissions shared by pages and the API.

A view says which roles may read and which may write; anything it does not name is refused.
Object-level rules (a team lead may change only their own team's projects) live with each app's
domain in `<app>/permissions.py`, and list scoping in its selectors.
"""

from __future__ import annotations

from django.contrib.auth.mixins import AccessMixin
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .roles import user_roles


class RolePermission(BasePermission):
    """DRF: the view's `read_roles` for safe methods, `write_roles` for the rest; none declared → no access.

    For writes on one object, the view's `can_write_object(user, obj)` has the last word.
    """

    message = "Your role does not allow this operation."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        allowed = view_roles(view, request.method)
        return bool(user_roles(request.user) & allowed)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True  # reads are scoped by get_queryset(): an object outside scope is a 404
        check = getattr(view, "can_write_object", None)
        return True if check is None else bool(check(request.user, obj))


class HasAnyRole(BasePermission):
    """Signed in and holding some role: the API docs and schema, which every persona may read."""

    message = "Your account has no role yet."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and user_roles(request.user))


def view_roles(view, method: str) -> set[str]:
    attr = "read_roles" if method in SAFE_METHODS else "write_roles"
    action = getattr(view, "action", None)
    # A workflow action may name its own roles (e.g. "transition_roles").
    if action and hasattr(view, f"{action}_roles"):
        return set(getattr(view, f"{action}_roles"))
    return set(getattr(view, attr, ()))


class RoleRequiredMixin(AccessMixin):
    """Pages: signed-in users holding one of `allowed_roles`; others get 403, anonymous go to login."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not (user_roles(request.user) & set(self.allowed_roles)):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)
