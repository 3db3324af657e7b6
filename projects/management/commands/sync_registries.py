"""Sync registries now, in this process: the same service the Celery task calls, without retries."""

from django.core.management.base import BaseCommand, CommandError

from projects.models import Registry
from projects.registries.adapters.base import RegistryError
from projects.registries.sync import registry_sync


class Command(BaseCommand):
    help = "Sync every enabled registry (or one, with --registry ID) now, and report what changed."

    def add_arguments(self, parser):
        parser.add_argument("--registry", type=int, help="the id of one registry (it is synced even if disabled)")

    def handle(self, *args, registry: int | None, **options):
        if registry is not None:
            registries = list(Registry.objects.filter(pk=registry))
            if not registries:
                raise CommandError(f"No registry with id {registry}.")
        else:
            registries = list(Registry.objects.filter(enabled=True).order_by("name"))
            if not registries:
                self.stdout.write("No enabled registry to sync.")
                return
        failed = 0
        for reg in registries:
            try:
                run = registry_sync(registry=reg)
            except RegistryError as exc:
                failed += 1
                kind = "transient" if exc.transient else "permanent"
                self.stderr.write(f"{reg.name}: FAILED ({kind}): {exc.message}")
                continue
            if run is None:
                self.stdout.write(f"{reg.name}: skipped, another sync of it is running.")
                continue
            self.stdout.write(
                f"{reg.name}: {run.versions_seen} versions seen; created {run.created}, updated {run.updated},"
                f" deleted {run.deleted}, unchanged {run.unchanged}; deployments started"
                f" {run.deployments_started}, ended {run.deployments_ended}."
            )
        if failed:
            raise CommandError(f"{failed} of {len(registries)} registries failed to sync.")
