"""Applying a batch of received events to the graph with a constant number of set-based queries.

The rules are those of one event at a time, applied to the batch in id order in memory, then written
with bulk reads and writes (each chunked below the databases' parameter limits):

- the job: upserted, facets merged by name in event order (`_deleted: true` removes one);
- the run: START/RUNNING/COMPLETE… events of one runId merge into one row: facets merged by name, the
  state moves forward — a terminal COMPLETE/ABORT/FAIL is never overwritten by a late START or RUNNING,
  OTHER only adds facets; started_at is the earliest event time. A runId that belongs to another job
  refuses that event alone (`refused`), the rest of the batch goes on;
- data sources: one per namespace, named by the first `dataSource` facet that gives a name;
- datasets: a name that is a known symlink of a dataset resolves to that dataset (a dataset row of the
  same identity wins); facets merged by name, the latest winning; symlinks from the `symlinks` facet (an
  identifier another dataset already claims is left with it); fields (edges.py); a MODEL dataset is
  linked to a registry model version (model_links.py).

`changed` collects the datasets whose facets, fields, symlinks, model link or existing edges changed;
`added_edges` the (source, target) dataset ids of newly created dataset or column edges.
"""

from __future__ import annotations

from django.db.models import Q

from core.bulk_insert import insert_many

from ..models import Dataset, DatasetSymlink, DataSource, Job, LineageEvent, Run, RunState
from . import edges, model_links
from .bulk import by_identity, chunks, update_rows
from .facets import EventPlan, Identity, identity, merge_facets, plan_event
from .receive import run_job_mismatch

TERMINAL_STATES = frozenset({RunState.COMPLETE, RunState.ABORT, RunState.FAIL})
COUNT_KEYS = (
    "jobs_created", "runs_created", "datasets_created", "datasets_updated", "fields_created", "fields_updated",
    "symlinks_created", "edges_created", "edges_seen", "column_edges_created", "column_edges_seen", "model_links",
    "facets_refused",
)  # fmt: skip


class Item:
    """One event of the batch: its row, its plan, and what it resolved to."""

    def __init__(self, event: LineageEvent):
        self.event = event
        self.plan: EventPlan = plan_event(event.kind, event.payload)
        self.job: Job | None = None
        self.run: Run | None = None
        self.datasets: dict[Identity, Dataset] = {}
        # Datasets linked to a model version this event's poster may not link: their facets and schema stay.
        self.protected: set[int] = set()

    def dataset(self, doc: dict) -> Dataset:
        return self.datasets[identity(doc["namespace"], doc["name"])]


class BatchWriter:
    def __init__(self, events: list[LineageEvent], *, now):
        self.now = now
        self.items = [Item(e) for e in events]
        self.refused: dict[int, Exception] = {}  # event id -> why it was refused
        self.counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
        self.changed_datasets: list[Dataset] = []
        self.changed: set[int] = set()
        self.added_edges: set[tuple[int, int]] = set()
        self.fields: dict = {}  # (dataset id, name) -> DatasetField, filled by edges.write_fields

    def apply(self) -> None:
        self._refuse_foreign_runs()
        live = [item for item in self.items if item.event.pk not in self.refused]
        self._jobs(live)
        self._runs(live)
        self._datasets(live)
        edges.write_fields(self, live)
        edges.write_column_edges(self, live)
        edges.write_dataset_edges(self, live)
        self._link_models(live)
        self.changed.update(ds.pk for ds in self.changed_datasets)

    # --- jobs and runs ------------------------------------------------------------------------

    def _refuse_foreign_runs(self) -> None:
        """A runId is one job's; an event naming it for another job is refused, the others go on."""
        run_items = [i for i in self.items if i.plan.kind == "run"]
        owner: dict[str, Identity] = {}
        for run_ids in chunks({i.plan.run["runId"] for i in run_items}):
            for run_id, ns, name in (
                Run.objects.order_by().filter(run_id__in=run_ids).values_list("run_id", "job__namespace", "job__name")
            ):
                owner[run_id] = (ns, name)
        for item in run_items:
            job = identity(item.plan.job["namespace"], item.plan.job["name"])
            first = owner.setdefault(item.plan.run["runId"], job)
            if first != job:
                self.refused[item.event.pk] = run_job_mismatch(item.plan.run["runId"], f"{first[0]}/{first[1]}")

    def _jobs(self, live: list[Item]) -> None:
        wanted = {identity(i.plan.job["namespace"], i.plan.job["name"]) for i in live if i.plan.job}
        if not wanted:
            return
        jobs = by_identity(Job.objects.all(), wanted)
        new = [
            Job(namespace=ns, name=name, first_seen_at=self.now, updated_at=self.now)
            for ns, name in sorted(wanted - jobs.keys())
        ]
        if new:
            insert_many(Job, new)
            jobs.update({(j.namespace, j.name): j for j in new})
            self.counts["jobs_created"] += len(new)
        dirty = {}
        for item in live:
            if not item.plan.job:
                continue
            job = item.job = jobs[identity(item.plan.job["namespace"], item.plan.job["name"])]
            facets = merge_facets(job.facets, item.plan.job.get("facets"))
            if facets != job.facets:
                job.facets, job.updated_at = facets, self.now
                dirty[job.pk] = job
        update_rows(Job, ["facets", "updated_at"], [(j.pk, j.facets, j.updated_at) for j in dirty.values()])

    def _runs(self, live: list[Item]) -> None:
        items = [i for i in live if i.plan.kind == "run"]
        runs: dict[str, Run] = {}
        for run_ids in chunks({i.plan.run["runId"] for i in items}):
            runs.update({r.run_id: r for r in Run.objects.order_by().filter(run_id__in=run_ids)})
        new, dirty = {}, {}
        for item in items:
            run_id, event_type, when = item.plan.run["runId"], item.plan.event_type, item.event.event_time
            run = runs.get(run_id)
            if run is None:
                state = event_type if event_type in RunState.values else RunState.OTHER
                run = runs[run_id] = new[run_id] = Run(
                    run_id=run_id,
                    job=item.job,
                    state=state,
                    started_at=when,
                    ended_at=when if state in TERMINAL_STATES else None,
                    facets=merge_facets({}, item.plan.run.get("facets")),
                    updated_at=self.now,
                )
            else:
                if event_type in TERMINAL_STATES:
                    run.state, run.ended_at = event_type, when
                elif event_type in (RunState.START, RunState.RUNNING) and run.state not in TERMINAL_STATES:
                    run.state = event_type
                run.started_at = min(run.started_at, when)
                run.facets = merge_facets(run.facets, item.plan.run.get("facets"))
                run.updated_at = self.now
                if run_id not in new:
                    dirty[run_id] = run
            item.run = run
        if new:
            insert_many(Run, list(new.values()))
            self.counts["runs_created"] += len(new)
        update_rows(
            Run,
            ["state", "started_at", "ended_at", "facets", "updated_at"],
            [(r.pk, r.state, r.started_at, r.ended_at, r.facets, r.updated_at) for r in dirty.values()],
        )

    # --- data sources and datasets ------------------------------------------------------------

    def _datasets(self, live: list[Item]) -> None:
        wanted = {ident for item in live for ident in item.plan.identities()}
        if not wanted:
            return
        # Facets (the large column: schema, column lineage…) are read below only where needed.
        rows: dict[Identity, Dataset] = by_identity(Dataset.objects.defer("facets"), wanted)
        claimed = self._load_symlinks(wanted | {s for item in live for s in _symlink_identities(item.plan)})
        # One object per dataset, whether an event names it or one of its symlinks: facets merge into one.
        by_pk = {ds.pk: ds for ds in rows.values()}
        claimed = {key: by_pk.setdefault(ds.pk, ds) for key, ds in claimed.items()}
        self._load_facets(by_pk, [rows.get(k) or claimed.get(k) for k in _carrying_facets(live)])
        new: list[Dataset] = []
        dirty: dict[Identity, Dataset] = {}
        new_links: list[tuple[Dataset, dict]] = []
        for item in live:
            for ident in item.plan.identities():
                ds = rows.get(ident) or claimed.get(ident)
                if ds is None:
                    ds = rows[ident] = Dataset(
                        namespace=ident[0], name=ident[1], first_seen_at=self.now, updated_at=self.now
                    )
                    new.append(ds)
                item.datasets[ident] = ds
            by = item.event.received_by
            item.protected = model_links.protected_dataset_ids(item.datasets.values(), by)
            for doc in item.plan.documents:
                if not doc.get("facets"):  # nothing to merge: nothing changes (and facets stay unread)
                    continue
                ds = item.dataset(doc)
                if ds.pk in item.protected:
                    if merge_facets(ds.facets, doc.get("facets")) != ds.facets:
                        self.counts["facets_refused"] += 1
                        model_links.audit_facets_refused([ds], by)
                    continue
                if self._apply_document(ds, doc, claimed, new_links):
                    dirty[(ds.namespace, ds.name)] = ds
        self._save_datasets(live, new, dirty, new_links)

    def _load_facets(self, by_pk: dict[int, Dataset], carrying: list[Dataset | None]) -> None:
        """Stored facets of the datasets a document of the batch sends facets for (a document without facets
        changes nothing: merging nothing into them leaves them as they are), and of those that may name a
        model version (model_links.reference_of: a keelModelVersion facet or a models:/ name). The others,
        most inputs, keep their facets unread: decoding them was the largest part of applying a batch."""
        deferred = {pk: ds for pk, ds in by_pk.items() if "facets" in ds.get_deferred_fields()}
        need = {ds.pk for ds in carrying if ds is not None and ds.pk in deferred}
        others = deferred.keys() - need
        may_name_model = Q(facets__has_key=model_links.KEEL_MODEL_FACET) | Q(name__startswith="models:/")
        for ids, narrow in ((need, Q()), (others, may_name_model)):
            for chunk in chunks(ids):
                for pk, facets in Dataset.objects.order_by().filter(narrow, pk__in=chunk).values_list("pk", "facets"):
                    deferred[pk].facets = facets

    def _load_symlinks(self, identities: set[Identity]) -> dict[Identity, Dataset]:
        """Identifier -> the dataset that claims it as a symlink."""
        return {
            key: link.dataset
            for key, link in by_identity(DatasetSymlink.objects.select_related("dataset"), identities).items()
        }

    def _apply_document(self, ds: Dataset, doc: dict, claimed: dict, new_links: list) -> bool:
        facets = merge_facets(ds.facets, doc.get("facets"))
        dataset_type = str(((facets.get("datasetType") or {}).get("datasetType")) or ds.dataset_type or "")[:50]
        symlinks = [
            {
                "namespace": str(i.get("namespace"))[:500],
                "name": str(i.get("name"))[:1000],
                "type": str(i.get("type") or ""),
            }
            for i in (facets.get("symlinks") or {}).get("identifiers") or []
            if isinstance(i, dict) and i.get("namespace") and i.get("name")
        ]
        if facets == ds.facets and dataset_type == ds.dataset_type and symlinks == ds.symlinks:
            return False
        if symlinks != ds.symlinks:
            for link in symlinks:
                key = (link["namespace"], link["name"])
                if key != (ds.namespace, ds.name) and key not in claimed:
                    claimed[key] = ds  # later events of the batch resolve this identifier to ds
                    new_links.append((ds, link))
        ds.facets, ds.dataset_type, ds.symlinks, ds.updated_at = facets, dataset_type, symlinks, self.now
        self.counts["datasets_updated"] += 1
        self.changed_datasets.append(ds)
        return True

    def _save_datasets(self, live, new: list[Dataset], dirty: dict, new_links: list) -> None:
        if new:
            sources = self._sources(live, {ds.namespace for ds in new})
            for ds in new:
                ds.source = sources[ds.namespace]
            insert_many(Dataset, new)
            self.counts["datasets_created"] += len(new)
            self.changed_datasets.extend(new)
        else:
            self._sources(live, set())
        created = {id(ds) for ds in new}
        existing = [ds for ds in dirty.values() if id(ds) not in created]
        update_rows(
            Dataset,
            ["facets", "dataset_type", "symlinks", "updated_at"],
            [(ds.pk, ds.facets, ds.dataset_type, ds.symlinks, ds.updated_at) for ds in existing],
        )
        if new_links:
            DatasetSymlink.objects.bulk_create(
                [
                    DatasetSymlink(dataset=ds, namespace=s["namespace"], name=s["name"], type=s["type"][:50])
                    for ds, s in new_links
                ]
            )
            self.counts["symlinks_created"] += len(new_links)

    def _sources(self, live: list[Item], needed: set[str]) -> dict[str, DataSource]:
        """One source per namespace; a source without a name takes the first name an event gives."""
        names: dict[str, str] = {}
        for item in live:
            for namespace, name in item.plan.source_names.items():
                if name and not names.get(namespace):
                    names[namespace] = name
        found = {}
        for namespaces in chunks(needed | names.keys()):
            found.update({s.namespace: s for s in DataSource.objects.order_by().filter(namespace__in=namespaces)})
        named = [s for s in found.values() if not s.name and names.get(s.namespace)]
        for source in named:
            source.name = names[source.namespace]
        if named:
            DataSource.objects.bulk_update(named, ["name"])
        new = [
            DataSource(namespace=ns, name=names.get(ns, ""), created_at=self.now)
            for ns in sorted(needed - found.keys())
        ]
        if new:
            DataSource.objects.bulk_create(new)
            found.update({s.namespace: s for s in new})
        return found

    # --- model versions -----------------------------------------------------------------------

    def _link_models(self, live: list[Item]) -> None:
        """Each dataset that names a model version (model_links.reference_of: a models:/ URI or a
        keelModelVersion facet, whatever its datasetType) is linked as its latest poster may."""
        poster: dict[int, object] = {}
        datasets: dict[int, Dataset] = {}
        for item in live:
            for doc in item.plan.documents:
                ds = item.dataset(doc)
                datasets[ds.pk], poster[ds.pk] = ds, item.event.received_by
        groups: dict[object, list[Dataset]] = {}
        for pk, ds in datasets.items():
            if "facets" in ds.get_deferred_fields():  # _load_facets: it names no model version
                continue
            groups.setdefault(poster[pk], []).append(ds)
        for by, group in groups.items():
            linked = model_links.link_documents(group, now=self.now, by=by)
            self.counts["model_links"] += len(linked)
            self.changed.update(linked)


def _carrying_facets(live: list[Item]) -> set[Identity]:
    return {identity(d["namespace"], d["name"]) for item in live for d in item.plan.documents if d.get("facets")}


def _symlink_identities(plan: EventPlan) -> set[Identity]:
    out = set()
    for doc in plan.documents:
        for i in ((doc.get("facets") or {}).get("symlinks") or {}).get("identifiers") or []:
            if isinstance(i, dict) and i.get("namespace") and i.get("name"):
                out.add(identity(i["namespace"], i["name"]))
    return out
