from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.roles import Role
from core.services import role_named, user_by_username, user_role_revoke


class Command(BaseCommand):
    help = "Take a role (a persona's group) from a user. Audited, with the system as actor."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=f"one of: {', '.join(Role.values)} (any case; RISK_OFFICER also works)")

    def handle(self, *args, username, role, **options):
        try:
            user = user_by_username(username)
            user_role_revoke(user=user, role=role)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{username} no longer holds the role {role_named(role).value}.")
