"""What every project page view shares: the roles that read and write, and the project in scope."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core import roles
from core.errors import DomainError
from core.permissions import RoleRequiredMixin
from core.roles import Role, has_role

from ..inventory.selectors import projects_for_user
from ..models import AIProject
from ..permissions import can_change_project

ALL_ROLES = roles.ALL_ROLES
WRITER_ROLES = (Role.TEAM_LEAD, Role.ADMIN)


def run_and_tell(request, call, *, success: str) -> None:
    """A button's service call (sync now, delete an entry): a refusal comes back as an error message on the
    page the user returns to, not as an error page; otherwise `success` says it was done."""
    try:
        call()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


class ProjectMixin(RoleRequiredMixin):
    allowed_roles = ALL_ROLES

    def get_project(self) -> AIProject:
        try:
            return projects_for_user(user=self.request.user).get(slug=self.kwargs["slug"])
        except AIProject.DoesNotExist:
            raise Http404("No such project, or you may not see it.") from None


class ProjectWriteMixin(ProjectMixin):
    """A form page that changes one project: team leads of its team and admins."""

    allowed_roles = WRITER_ROLES
    http_method_names = ["get", "post"]
    refusal = "You can only change projects of your own team."

    def dispatch(self, request, *args, **kwargs):
        # Role first (anonymous → login, no writer role → 403), then scope (404), then the object rule.
        if has_role(request.user, *self.allowed_roles):
            self.project = self.get_project()
            if not can_change_project(request.user, self.project):
                raise PermissionDenied(self.refusal)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.project, **kwargs)
