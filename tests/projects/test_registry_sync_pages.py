"""A sync over a registry that answers page by page: each page is stored as it comes, in one transaction;
a version a paged sweep misses is asked about before it is marked deleted; a page that fails writes nothing."""

from __future__ import annotations

import threading

import pytest

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.models import ModelVersion, RegisteredModel, SyncRun, SyncStatus
from projects.registries.adapters.base import RemoteModel, RemoteVersion, SnapshotPage, TransientRegistryError
from projects.registries.sync import registry_sync
from tests.registry_factories import RegistryFactory

pytestmark = pytest.mark.django_db


def version(model: str, v: str, **fields) -> RemoteVersion:
    return RemoteVersion(model_name=model, version=v, status="READY", **fields)


class PagedAdapter:
    """Models first, then `per_page` versions a page, offset-paged like MLflow; `fetch_version` answers from
    `registry_now` (what the registry holds when asked, which a test may make differ from the sweep)."""

    def __init__(self, models: dict[str, RemoteModel], versions: list[RemoteVersion], per_page: int = 2):
        self.models, self.versions, self.per_page = models, versions, per_page
        self.registry_now = {(v.model_name, v.version): v for v in versions}
        self.asked: list[tuple[str, str]] = []
        self.fail_at_page: int | None = None
        self.threads: set[str] = set()

    def fetch_pages(self):
        self.threads.add(threading.current_thread().name)
        yield SnapshotPage(models=dict(self.models), requests=1)
        chunks = [self.versions[i : i + self.per_page] for i in range(0, len(self.versions), self.per_page)]
        for n, chunk in enumerate(chunks):
            if n == self.fail_at_page:
                raise TransientRegistryError("MLflow answered 503 for model-versions/search", status=503)
            yield SnapshotPage(
                versions={(v.model_name, v.version): v for v in chunk},
                requests=1,
                offset_paged=len(chunks) > 1,
            )

    def fetch_snapshot(self):  # pragma: no cover - the sync takes the pages
        raise AssertionError("the sync should read the pages")

    def fetch_version(self, model: str, v: str) -> RemoteVersion | None:
        self.asked.append((model, v))
        return self.registry_now.get((model, v))


def state() -> tuple:
    return (
        sorted(ModelVersion.objects.values_list("registered_model__name", "version", "description", "deleted_at")),
        AuditEvent.objects.count(),
    )


def test_pages_are_stored_as_they_come_in_one_sync_fetched_in_a_helper_thread():
    registry = RegistryFactory()
    adapter = PagedAdapter(
        {"a": RemoteModel(name="a", aliases={"champion": "3"})}, [version("a", str(v)) for v in range(1, 6)]
    )

    run = registry_sync(registry=registry, adapter=adapter)

    assert (run.status, run.created, run.requests, run.deployments_started) == (SyncStatus.SUCCEEDED, 6, 4, 1)
    assert ModelVersion.objects.count() == 5
    assert adapter.threads == {"keel-sync-fetch"}
    assert adapter.asked == []  # nothing stored was missing
    assert verify_chain().ok
    # The audit trail: the model first, then its versions in the order of the pages.
    actions = list(
        AuditEvent.objects.filter(action__in=("registered_model.created", "model_version.created"))
        .order_by("seq")
        .values_list("action", "object_id")
    )
    assert actions[0][0] == "registered_model.created"
    versions_by_id = dict(ModelVersion.objects.values_list("pk", "version"))
    assert [versions_by_id[int(i)] for a, i in actions if a == "model_version.created"] == ["1", "2", "3", "4", "5"]


def test_a_version_missing_from_a_paged_sweep_is_asked_about_before_it_is_marked_deleted():
    registry = RegistryFactory()
    versions = [version("a", str(v)) for v in range(1, 6)]
    adapter = PagedAdapter({"a": RemoteModel(name="a")}, versions)
    registry_sync(registry=registry, adapter=adapter)
    # Version 1 is deleted while the sweep runs: the offsets shift, and version 3 slips past a page
    # boundary although the registry still has it (described anew meanwhile).
    del adapter.registry_now[("a", "1")]
    adapter.registry_now[("a", "3")] = version("a", "3", description="still here")
    adapter.versions = [v for v in versions if v.version not in ("1", "3")]

    run = registry_sync(registry=registry, adapter=adapter)

    assert sorted(adapter.asked) == [("a", "1"), ("a", "3")]
    assert (run.deleted, run.updated, run.unchanged, run.requests) == (1, 1, 3, 5)
    gone = dict(ModelVersion.objects.values_list("version", "deleted_at"))
    assert gone["1"] is not None
    assert gone["3"] is None
    assert ModelVersion.objects.get(version="3").description == "still here"
    assert verify_chain().ok


def test_a_single_page_sweep_asks_about_nothing():
    registry = RegistryFactory()
    adapter = PagedAdapter({"a": RemoteModel(name="a")}, [version("a", "1"), version("a", "2")], per_page=10)
    registry_sync(registry=registry, adapter=adapter)
    adapter.versions = [version("a", "2")]

    run = registry_sync(registry=registry, adapter=adapter)

    assert (adapter.asked, run.deleted) == ([], 1)


def test_a_page_that_fails_after_others_were_stored_writes_nothing():
    registry = RegistryFactory()
    adapter = PagedAdapter({"a": RemoteModel(name="a")}, [version("a", str(v)) for v in range(1, 6)])
    adapter.fail_at_page = 2  # pages 0 and 1 (four new versions) are stored before it fails
    before = state()

    with pytest.raises(TransientRegistryError):
        registry_sync(registry=registry, adapter=adapter)

    failed = SyncRun.objects.get(registry=registry)
    assert (failed.status, failed.error_transient) == (SyncStatus.FAILED, True)
    assert state() == before
    assert not RegisteredModel.objects.filter(registry=registry).exists()
    adapter.fail_at_page = None
    assert registry_sync(registry=registry, adapter=adapter).created == 6
    assert verify_chain().ok


def test_a_version_seen_twice_as_the_offsets_shift_is_stored_once_and_a_model_only_versions_name_is_created():
    registry = RegistryFactory()
    repeated = [version("a", "1"), version("a", "2"), version("a", "2"), version("b", "1")]
    adapter = PagedAdapter({"a": RemoteModel(name="a")}, repeated)

    run = registry_sync(registry=registry, adapter=adapter)

    assert run.created == 5  # models a and b (b created between the two searches), three versions
    assert sorted(ModelVersion.objects.values_list("registered_model__name", "version")) == [
        ("a", "1"),
        ("a", "2"),
        ("b", "1"),
    ]
    again = registry_sync(registry=registry, adapter=adapter)
    assert (again.created, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 3)


def test_governance_is_told_of_each_pages_new_versions_as_they_are_stored_and_of_changed_ones_at_the_end():
    from projects import events

    registry = RegistryFactory()
    versions = [version("a", str(v)) for v in range(1, 6)]
    told: list[list[str]] = []

    def receiver(sender, versions, **kwargs):
        told.append([v.version for v in versions])
        assert all(v.pk for v in versions)  # stored before governance hears of them

    events.model_versions_synced.connect(receiver, dispatch_uid="test.pages.told")
    try:
        registry_sync(registry=registry, adapter=PagedAdapter({"a": RemoteModel(name="a")}, versions))
        assert told == [["1", "2"], ["3", "4"], ["5"]]  # each new version once, page by page
        told.clear()
        versions[1] = version("a", "2", description="retrained")
        registry_sync(registry=registry, adapter=PagedAdapter({"a": RemoteModel(name="a")}, versions))
        assert told == [["2"]]  # a changed version: once, when the sweep is whole
    finally:
        events.model_versions_synced.disconnect(dispatch_uid="test.pages.told")
