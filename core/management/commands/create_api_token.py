from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.services import api_token_create, user_by_username


class Command(BaseCommand):
    help = "Create an API token for a user and print its key once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label, e.g. the pipeline that uses it")
        parser.add_argument("--days", type=int, default=90, help="days until it expires; 0 = never")
        parser.add_argument(
            "--namespace",
            action="append",
            default=[],
            dest="namespaces",
            help="an OpenLineage namespace the token may post lineage to: exact (s3://lake) or a prefix ending "
            "in * (postgres://crm:5432*); repeat for several. None: it may post lineage to none (unless "
            "KEEL_LINEAGE_DEFAULT_NAMESPACES gives a default).",
        )

    def handle(self, *args, username, name, days, namespaces, **options):
        try:
            user = user_by_username(username)
            token, key = api_token_create(user=user, name=name, days=days or None, lineage_namespaces=namespaces)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        self.stderr.write(f"Token {token.prefix} for {username}, expires {expiry}. It is shown only once:")
        self.stdout.write(key)
