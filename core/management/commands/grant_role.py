from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.roles import Role
from core.services import role_named, user_by_username, user_role_grant


class Command(BaseCommand):
    help = "Give a user a role (a persona's group). Audited, with the system as actor."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=f"one of: {', '.join(Role.values)} (any case; RISK_OFFICER also works)")

    def handle(self, *args, username, role, **options):
        try:
            user = user_by_username(username)
            user_role_grant(user=user, role=role)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{username} now holds the role {role_named(role).value}.")
