"""A sync that finds nothing changed only reads: a fixed, small number of queries whatever the registry's size,
with governance's end-of-sync checks still run (they also depend on findings people triage)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.models import AuditEvent, Finding, FindingKind
from projects.models import SyncStatus
from projects.registries.adapters.base import RemoteModel
from projects.registries.sync import registry_sync
from tests.projects.test_registry_sync_pages import PagedAdapter, version
from tests.registry_factories import RegistryFactory

pytestmark = pytest.mark.django_db

# The no-change re-sync's queries but savepoints (SQLite and PostgreSQL alike): 14 before the unowned check
# stopped reading production signals for models it opens no finding on.
RESYNC_QUERIES = 13


def _registry_of(project, versions_per_model: int) -> PagedAdapter:
    """A linked model and an unowned one, each serving production (champion alias, Production stage)."""
    models = {
        "linked": RemoteModel(name="linked", tags={"keel.project": project.slug}, aliases={"champion": "2"}),
        "unowned": RemoteModel(name="unowned", aliases={"champion": "1"}),
    }
    versions = [
        version(name, str(v), stage="Production" if v == 1 else "")
        for name in models
        for v in range(1, versions_per_model + 1)
    ]
    return PagedAdapter(models, versions, per_page=5)


@pytest.mark.parametrize("versions_per_model", [3, 30])
def test_a_no_change_resync_reads_a_fixed_few_queries_and_writes_nothing(project, versions_per_model):
    registry = RegistryFactory()
    adapter = _registry_of(project, versions_per_model)
    registry_sync(registry=registry, adapter=adapter)
    assert Finding.objects.filter(kind=FindingKind.UNOWNED_PRODUCTION_MODEL, resolved_at=None).count() == 1
    events = AuditEvent.objects.count()

    with CaptureQueriesContext(connection) as captured:
        run = registry_sync(registry=registry, adapter=adapter)

    assert (run.status, run.created, run.updated, run.deleted) == (SyncStatus.SUCCEEDED, 0, 0, 0)
    assert run.unchanged == 2 * versions_per_model
    assert AuditEvent.objects.count() == events
    selects = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(selects) <= RESYNC_QUERIES, "\n".join(selects)


def test_a_no_change_resync_still_reopens_a_finding_closed_while_the_model_serves_unowned(project):
    # The end-of-sync checks are not skipped when nothing changed: their result depends on findings too.
    registry = RegistryFactory()
    adapter = _registry_of(project, 3)
    registry_sync(registry=registry, adapter=adapter)
    Finding.objects.filter(kind=FindingKind.UNOWNED_PRODUCTION_MODEL).update(resolved_at=registry.created_at)

    registry_sync(registry=registry, adapter=adapter)

    assert Finding.objects.filter(kind=FindingKind.UNOWNED_PRODUCTION_MODEL, resolved_at=None).count() == 1
