from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.models import ApiToken
from core.services import api_token_revoke


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (the part after 'keel_')."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        try:
            api_token_revoke(token=token)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked {prefix}.")
