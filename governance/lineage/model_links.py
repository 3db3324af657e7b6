"""Which registry model version a lineage dataset is: linked from the event's facets, or by hand.

One rule decides every link, whoever asks (the manual link, ingest, a later sync): a dataset is linked to
version V only if the caller may link V (admins and risk officers any; a team lead, versions of their
team's projects), is moved away from version U only if the caller may link U too, and a manual link is
never changed by ingest.

A dataset *names* a model version (reference_of) when it has a `keelModelVersion` facet {"registry",
"model", "version"}, or when its name is an MLflow model URI `models:/<model>/<version>` — whatever its
datasetType facet says (or whether it sends one): both are unambiguous, and producers often omit the
facet. A URI naming a stage or alias (`models:/m/Production`, `models:/m@champion`) names a moving
target and is not a reference. A reference that finds no single version (not synced yet, or several
registries match), or a version whose model no project owns yet while the poster is a team lead, is
remembered as pending (models.PendingModelLink) and retried by pending_linksresolve_pending() when a sync
brings versions or a model is linked to a project (receivers.py).

    link_documents(datasets, now, by)       ingest: link what the event's datasets name, as `by` may
    refusals_for(documents, by)             what of a raw event's links and facets would be refused, and why
    protected_dataset_ids(datasets, by)     datasets whose facets `by` may not change (linked to a version
                                            `by` may not link): the writer leaves their facets and schema as is
    audit_facets_refused(datasets, by)      and audits each it left so (dataset.facets_refused)
    pending_linksresolve_pending(model_names=...)  retry pending references (a sync, a model linked to a project)
    can_link_model(user, version)           the permission, for pages and the API
    dataset_model_link(...)                 a person links (or unlinks) a dataset by hand, audited
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.queries import prepared_cursor
from core.roles import Role, has_role
from projects.models import ModelVersion, Registry
from projects.permissions import can_change_project

from ..findings.services import finding_close
from ..models import Dataset, Finding, FindingKind, ModelLinkSource, PendingModelLink, PendingOutcome
from .signals import lineage_changed

# Who may link a dataset to a model version by hand, besides the team lead of the version's project.
MODEL_LINK_ROLES = (Role.ADMIN, Role.RISK_OFFICER)
MODEL_URI = re.compile(r"^models:/(?P<model>[^/@]+)/(?P<version>[^/]+)/?$")
NUMBERED = re.compile(r"^\d+$")
KEEL_MODEL_FACET = "keelModelVersion"  # {"registry": "<Keel registry name>", "model": "...", "version": "..."}
SUBJECT = "governance.dataset"

NOT_YOURS = "You may link datasets only to model versions of your team's projects."
WHY_NOT_YOURS = "{version} belongs to {project}, which is not one of your team's projects"
WHY_NOT_YOURS_TO_MOVE = "the dataset is linked to {version} of {project}, which is not one of your team's projects"
WHY_MANUAL = "the dataset was linked to {version} by hand; ingest never changes a manual link"
WHY_POSTER_GONE = "the account that posted the reference ({name}) no longer exists"
WHY_NO_VERSION = "no registry has synced {ref} yet"
WHY_SEVERAL = "{ref} matches versions in several registries; link it by hand"
WHY_NO_PROJECT = "{version} belongs to no project yet; it is linked once its model is linked to one of your projects"
WHY_PROTECTED = "{dataset}: facets not applied, because {why}"


@dataclass(frozen=True)
class Reference:
    """The version a dataset names."""

    model: str
    version: str
    registry: str = ""  # a Keel registry's name, from the keelModelVersion facet
    namespace: str = ""  # for a models:/ URI: the registry's base URL, when the producer uses it

    def __str__(self) -> str:
        return f"{self.model} version {self.version}" + (f" in registry {self.registry}" if self.registry else "")


@dataclass(frozen=True)
class Decision:
    outcome: str  # "link" | "same" | "pending" | "refused" | "manual"
    version: ModelVersion | None = None
    why: str = ""


@dataclass(frozen=True)
class PosterGone:
    """The poster of a pending reference whose account was deleted: may link nothing."""

    name: str


def reference_of(namespace: str, name: str, facets: dict | None) -> Reference | None:
    facet = (facets or {}).get(KEEL_MODEL_FACET)
    if isinstance(facet, dict) and facet.get("_deleted") is not True and facet.get("model") and facet.get("version"):
        return Reference(str(facet["model"])[:500], str(facet["version"])[:200], str(facet.get("registry") or "")[:200])
    match = MODEL_URI.match(name or "")
    if match and NUMBERED.match(match["version"]):
        return Reference(match["model"][:500], match["version"], namespace=namespace)
    return None


def versions_for(ref: Reference) -> list[ModelVersion]:
    """At most two versions matching the reference (two = ambiguous). A URI is looked up in the registry
    whose base URL is the dataset's namespace (trailing "/" ignored); when none has it, in all registries."""
    found = ModelVersion.objects.select_related("registered_model__project", "registered_model__registry").filter(
        registered_model__name=ref.model, version=ref.version
    )
    if ref.registry:
        found = found.filter(registered_model__registry__name=ref.registry)
    elif ref.namespace:
        namespace = ref.namespace.rstrip("/")
        ids = [r.pk for r in Registry.objects.exclude(base_url="") if r.base_url.rstrip("/") == namespace]
        if ids:
            found = found.filter(registered_model__registry_id__in=ids)
    return list(found[:2])


def model_version_for(ds: Dataset) -> ModelVersion | None:
    """The registry version a dataset names, when exactly one matches."""
    ref = reference_of(ds.namespace, ds.name, ds.facets)
    found = versions_for(ref) if ref else []
    return found[0] if len(found) == 1 else None


def can_link_model(user, version: ModelVersion | None) -> bool:
    if has_role(user, *MODEL_LINK_ROLES):
        return True
    project = version.registered_model.project if version is not None else None
    return project is not None and can_change_project(user, project)


def _may_link(by, version: ModelVersion) -> bool:
    """`by` None is Keel itself (a command, the demo): it may link anything."""
    return by is None or (not isinstance(by, PosterGone) and can_link_model(by, version))


def version_label(version: ModelVersion) -> str:
    return f"{version.registered_model.name} v{version.version}"


def _project(version: ModelVersion) -> str:
    project = version.registered_model.project
    return f"project {project.name}" if project is not None else "no project"


def decide(ds: Dataset, ref: Reference, found: list[ModelVersion], by) -> Decision:
    """What ingest (or a later sync, for the poster `by`) does with a dataset naming `ref`."""
    current = ds.model_version if ds.model_version_id else None
    if ds.model_link_source == ModelLinkSource.MANUAL and current is not None:
        same = len(found) == 1 and found[0].pk == current.pk
        return Decision(
            "same" if same else "manual", current, "" if same else WHY_MANUAL.format(version=version_label(current))
        )
    if len(found) != 1:
        why = WHY_SEVERAL if found else WHY_NO_VERSION
        return Decision("pending", None, why.format(ref=ref))
    version = found[0]
    if current is not None and version.pk == current.pk:
        return Decision("same", version)
    if isinstance(by, PosterGone):
        return Decision("refused", version, WHY_POSTER_GONE.format(name=by.name))
    if not _may_link(by, version):
        if version.registered_model.project_id is None:
            return Decision("pending", version, WHY_NO_PROJECT.format(version=version_label(version)))
        return Decision(
            "refused", version, WHY_NOT_YOURS.format(version=version_label(version), project=_project(version))
        )
    if current is not None and not _may_link(by, current):
        why = WHY_NOT_YOURS_TO_MOVE.format(version=version_label(current), project=_project(current))
        return Decision("refused", version, why)
    return Decision("link", version)


# --- ingest -------------------------------------------------------------------------------------------


def link_documents(datasets: Iterable[Dataset], *, now, by=None) -> set[int]:
    """Link each dataset of an event (or of a batch from one poster) to the version it names, as `by` may
    (None: Keel itself); remember what cannot be linked yet; audit refusals. Returns the ids linked."""
    named = {ds.pk: (ds, ref) for ds in datasets if (ref := reference_of(ds.namespace, ds.name, ds.facets))}
    if not named:
        return set()
    pending = {p.dataset_id: p for p in PendingModelLink.objects.filter(dataset_id__in=named)}
    lookups: dict[Reference, list[ModelVersion]] = {}
    entries: list = []
    linked: set[int] = set()
    for pk, (ds, ref) in sorted(named.items(), key=lambda item: (item[1][0].namespace, item[1][0].name)):
        if ref not in lookups:
            lookups[ref] = versions_for(ref)
        decision = decide(ds, ref, lookups[ref], by)
        if apply_decision(ds, ref, decision, by=by, now=now, pending=pending.get(pk), entries=entries):
            linked.add(pk)
    if entries:
        audit.record_many(entries)
    return linked


def apply_decision(ds: Dataset, ref: Reference, decision: Decision, *, by, now, pending, entries: list) -> bool:
    """Carry out one decision; True when the dataset's link changed."""
    if decision.outcome == "pending":
        _remember(ds, ref, decision.why, by=by, now=now, pending=pending)
        return False
    if decision.outcome == "refused":
        entries.append(
            audit.entry(
                actor=None if isinstance(by, PosterGone) else by, action="dataset.model_link_refused", obj=ds,
                after={"version": version_label(decision.version), "model_version": decision.version.pk,
                       "current": ds.model_version_id, "why": decision.why},
            )
        )  # fmt: skip
    outcome = {
        "link": PendingOutcome.LINKED, "same": PendingOutcome.LINKED, "manual": PendingOutcome.MANUAL,
        "refused": PendingOutcome.REFUSED,
    }[decision.outcome]  # fmt: skip
    if pending is not None and pending.resolved_at is None:
        resolve_pending(pending, outcome, decision.why or "linked", now=now, entries=entries)
    if decision.outcome != "link":
        return False
    ds.model_version, ds.model_link_source, ds.updated_at = decision.version, ModelLinkSource.FACET, now
    ds.save(update_fields=["model_version", "model_link_source", "updated_at"])
    return True


def _remember(ds: Dataset, ref: Reference, why: str, *, by, now, pending) -> None:
    poster = by if getattr(by, "pk", None) else None
    # A poster with no account (never Keel itself, which is None) is recorded by a name, so a later sync
    # refuses the link (PosterGone) rather than making it with Keel's rights.
    name = getattr(poster, "username", "") if by is None or poster is not None else "(anonymous)"
    fields = {
        "model_name": ref.model, "version": ref.version, "registry_name": ref.registry, "reason": why[:300],
        "requested_by": poster, "requested_by_name": name[:150], "last_seen_at": now,
    }  # fmt: skip
    if pending is None:
        # Two events naming the dataset at once: the second insert is ignored; both name the same thing.
        PendingModelLink.objects.bulk_create(
            [PendingModelLink(dataset=ds, first_seen_at=now, **fields)], ignore_conflicts=True
        )
        return
    same_ref = (pending.model_name, pending.version, pending.registry_name) == (ref.model, ref.version, ref.registry)
    if pending.resolved_at is not None or not same_ref:  # a new wait: its grace period starts now
        fields |= {"first_seen_at": now, "resolved_at": None, "outcome": PendingOutcome.OPEN}
    for key, value in fields.items():
        setattr(pending, key, value)
    pending.save(update_fields=[*fields])


def resolve_pending(pending: PendingModelLink, outcome: str, why: str, *, now, entries: list) -> None:
    pending.resolved_at, pending.outcome = now, outcome
    pending.save(update_fields=["resolved_at", "outcome"])
    for finding in Finding.objects.filter(
        kind=FindingKind.MODEL_REFERENCE_UNRESOLVED, subject_type=SUBJECT, subject_id=str(pending.dataset_id),
        resolved_at=None,
    ):  # fmt: skip
        finding_close(finding, f"{pending.reference_label}: {PendingOutcome(outcome).label.lower()} ({why})"[:300],
                      entries=entries)  # fmt: skip


# --- what the poster may not change -------------------------------------------------------------------


def protected_dataset_ids(datasets: Iterable[Dataset], by) -> set[int]:
    """Datasets linked to a model version `by` may not link: a producer event from `by` must leave their
    facets (tags → PII roots, schema) as they are. None (Keel itself), admins and risk officers: none.
    No query when none of the datasets is linked (the common case)."""
    linked = {ds.pk: ds.model_version_id for ds in datasets if ds.model_version_id}
    if not linked or by is None or has_role(by, *MODEL_LINK_ROLES):
        return set()
    versions = ModelVersion.objects.select_related("registered_model__project").in_bulk(set(linked.values()))
    return {pk for pk, v in linked.items() if not can_link_model(by, versions.get(v))}


def audit_facets_refused(datasets: Iterable[Dataset], by) -> None:
    """The writer left these protected datasets' facets as they were: one audit event each, naming why."""
    entries = [
        audit.entry(actor=by, action="dataset.facets_refused", obj=ds,
                    after={"why": WHY_NOT_YOURS_TO_MOVE.format(version=version_label(ds.model_version),
                                                               project=_project(ds.model_version))})
        for ds in datasets
    ]  # fmt: skip
    if entries:
        audit.record_many(entries)


def documents_of(payload) -> list[dict]:
    """The dataset documents of a raw event: a RunEvent's or JobEvent's inputs and outputs, a DatasetEvent's dataset."""
    if not isinstance(payload, dict):
        return []
    if isinstance(payload.get("dataset"), dict):
        return [payload["dataset"]]
    return [d for key in ("inputs", "outputs") for d in payload.get(key) or () if isinstance(d, dict)]


def refusals_for(payload_documents: Iterable[dict], by) -> list[str]:
    """What of these raw dataset documents (an event's inputs/outputs, or its dataset) ingest refuses for
    `by`, one sentence each, for the POST's response. Reads the stored datasets by namespace and name (not
    through symlinks): one query, and no more when no document names a model version or is linked to one."""
    docs = [d for d in payload_documents if isinstance(d, dict) and isinstance(d.get("namespace"), str)
            and isinstance(d.get("name"), str)]  # fmt: skip
    if not docs:
        return []
    stored = _stored(docs)
    candidates = []
    for doc in docs:
        key = (doc["namespace"][:500], doc["name"][:1000])
        ds = stored.get(key)
        if ds is None:
            # Not linked and naming no model in Keel (almost every document of almost every event): only its
            # own facets could name one, and no Dataset is built to ask (a model's __init__ per document cost
            # a tenth of the POST).
            if reference_of(key[0], key[1], _facets(doc)) is None:
                continue
            ds = Dataset(namespace=key[0], name=key[1], facets={})
        if ds.model_version_id or reference_of(ds.namespace, ds.name, {**(ds.facets or {}), **_facets(doc)}):
            candidates.append((doc, ds))
    if not candidates:
        return []
    protected = protected_dataset_ids([ds for _, ds in candidates], by)
    out = []
    for doc, ds in candidates:
        if ds.pk in protected and _facets(doc):
            why = WHY_NOT_YOURS_TO_MOVE.format(
                version=version_label(ds.model_version), project=_project(ds.model_version)
            )
            out.append(WHY_PROTECTED.format(dataset=ds, why=why))
        facets = ds.facets if ds.pk in protected else {**(ds.facets or {}), **_facets(doc)}
        ref = reference_of(ds.namespace, ds.name, facets)
        if ref is None:
            continue
        decision = decide(ds, ref, versions_for(ref), by)
        if decision.outcome in ("refused", "manual"):
            out.append(f"{ds}: not linked to {ref}, because {decision.why}.")
    return out


def _facets(doc: dict) -> dict:
    return doc["facets"] if isinstance(doc.get("facets"), dict) else {}


# Plain SQL, as every POST asks (governance/lineage/receive.py says why). LIKE may also match other cases
# on SQLite; reference_of() decides on what it returns.
_LINKED_OR_NAMING_SQL = (
    f"SELECT namespace, name FROM {Dataset._meta.db_table} WHERE namespace IN ({{spaces}}) AND name IN ({{names}})"  # noqa: S608
    " AND (model_version_id IS NOT NULL OR name LIKE 'models:/%%')"
)


def _stored(docs: list[dict]) -> dict[tuple[str, str], Dataset]:
    """The stored datasets of these documents that are linked to a model version or may name one (a models:/
    name). Every POST asks, so the common case — no document linked or naming a model — reads only three small
    columns and never the datasets' facets."""
    names = sorted({d["name"][:1000] for d in docs})
    wanted = {(d["namespace"][:500], d["name"][:1000]) for d in docs}
    keys: set[tuple[str, str]] = set()
    with prepared_cursor() as cursor:
        for start in range(0, len(names), 400):  # bounded IN lists, however many outputs an event has
            chunk = names[start : start + 400]
            # Both columns, so the (namespace, name) unique index answers (name alone scans the table).
            in_chunk = set(chunk)
            spaces = sorted({ns for ns, name in wanted if name in in_chunk})
            sql = _LINKED_OR_NAMING_SQL.format(
                spaces=", ".join(["%s"] * len(spaces)), names=", ".join(["%s"] * len(chunk))
            )
            cursor.execute(sql, [*spaces, *chunk])
            keys.update(key for key in map(tuple, cursor.fetchall()) if key in wanted)
    out = {}
    for namespace, name in sorted(keys):
        query = Dataset.objects.select_related("model_version__registered_model__project")
        ds = query.filter(namespace=namespace, name=name).first()
        if ds is not None:
            out[(namespace, name)] = ds
    return out


# --- by hand ------------------------------------------------------------------------------------------


def dataset_model_link(*, dataset: Dataset, model_version: ModelVersion | None, by) -> Dataset:
    """Link a dataset to a registry model version by hand (None unlinks). Admins and risk officers
    may link any; a team lead, versions of their team's projects (and may replace or remove only such a
    link). Ingest never overrides a manual link. A pending reference of the dataset is settled by it."""
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().get(pk=dataset.pk)
        current = ds.model_version
        # Both ends must be the caller's: the version linked now and the one the link replaces.
        if (model_version is not None and not can_link_model(by, model_version)) or (
            current is not None and current != model_version and not can_link_model(by, current)
        ):
            raise PermissionDeniedError(NOT_YOURS)
        if model_version is None and current is None:
            raise DomainError("The dataset is not linked to a model version.", field="model_version")
        before = audit.snapshot(ds, ["model_version", "model_link_source"])
        ds.model_version = model_version
        ds.model_link_source = ModelLinkSource.MANUAL if model_version is not None else ModelLinkSource.NONE
        ds.updated_at = timezone.now()
        ds.save(update_fields=["model_version", "model_link_source", "updated_at"])
        action = "dataset.model_linked" if model_version is not None else "dataset.model_unlinked"
        entries = [
            audit.entry(actor=by, action=action, obj=ds, before=before,
                        after=audit.snapshot(ds, ["model_version", "model_link_source"]))
        ]  # fmt: skip
        pending = PendingModelLink.objects.filter(dataset=ds, resolved_at=None).first()
        if pending is not None and model_version is not None:
            resolve_pending(pending, PendingOutcome.MANUAL, f"linked by hand to {version_label(model_version)}",
                     now=ds.updated_at, entries=entries)  # fmt: skip
        audit.record_many(entries)
        lineage_changed.send(sender=Dataset, dataset_ids={ds.pk})
    return ds
