import sys

from django.core.management.base import BaseCommand

from governance.audit.chain import verify_chain


class Command(BaseCommand):
    help = "Verify the audit hash chain; exit 1 naming the first bad seq if it was tampered with."

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(f"OK: audit chain intact, {result.checked} events verified.")
            return
        self.stderr.write(
            f"FAILED at seq {result.bad_seq}: {result.problem} ({result.checked} events verified before it)."
        )
        sys.exit(1)
