from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.models import ApiToken
from core.services import api_token_scope


class Command(BaseCommand):
    help = (
        "Set the OpenLineage namespaces an API token may post lineage to (replacing the ones it had): "
        "exact namespaces (s3://lake) or prefixes ending in * (postgres://crm:5432*). No namespace: none."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="the token's prefix (the part after 'keel_')")
        parser.add_argument("namespaces", nargs="*", help="namespace patterns; none clears the scope")

    def handle(self, *args, prefix, namespaces, **options):
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        try:
            token = api_token_scope(token=token, lineage_namespaces=namespaces)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        shown = ", ".join(token.lineage_namespaces) or "none"
        self.stdout.write(f"Token {prefix} may post lineage to: {shown}.")
