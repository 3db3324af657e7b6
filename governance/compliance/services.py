"""The writes of PII classification and compliance. Each is one transaction with its audit event;
each re-propagates what it affects and re-evaluates the obligations of the projects it touches.

    classification_assert / classification_retract   a person's assertion (manual roots)
    lineage_propagate                                 after an ingest: producer tags → roots, recompute the
                                                      roots at changed datasets, extend over added edges
    dataset_compliance_update                         legal basis, Art. 9(2) condition, retention, owner
    obligations_evaluate                              rules → obligations → findings
    evidence_add                                      a link or a file for an obligation
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.roles import Role, has_role
from core.services import model_create, model_update
from projects.models import AIProject
from projects.permissions import can_change_project

from ..findings.services import finding_close, finding_open
from ..models import (
    Classification,
    Dataset,
    DatasetField,
    Evidence,
    Finding,
    FindingKind,
    Obligation,
    ObligationStatus,
    Origin,
)
from . import rules, selectors, store, taxonomy

CLASSIFIERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)
EVIDENCE_REVIEWERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)

NOT_A_CLASSIFIER = "Only risk officers, compliance officers and admins can classify data or record its compliance."
FIELD_OF_OTHER_DATASET = "The field {field!r} belongs to another dataset."
ALREADY_ASSERTED = "{kind} is already asserted on {where}."
DERIVED_NOT_RETRACTED = (
    "This classification was derived along lineage from #{root}; retract that assertion (or remove the edge) instead."
)
PRODUCER_NOT_RETRACTED = (
    "This classification comes from the producer's tags facet; remove the tag at the producer and the next "
    "event retracts it."
)
NO_EVIDENCE = "Give a link or a file."
FILE_TOO_LARGE = "The file is {size} bytes; evidence files may be at most {limit} bytes."
NOT_YOUR_PROJECT = "Only the project's team, risk officers, compliance officers and admins can give evidence for it."
NOT_APPLICABLE = "This obligation no longer applies, so it takes no evidence."


def _can_classify(by) -> bool:
    return by is None or has_role(by, *CLASSIFIERS)


def _where(dataset: Dataset, field: DatasetField | None) -> str:
    return f"{dataset.name}.{field.name}" if field else dataset.name


def _snapshot(c: Classification) -> dict:
    return {
        "dataset": c.dataset_id, "field": c.field_id, "pii_kind": c.pii_kind, "gdpr_class": c.gdpr_class,
        "origin": c.origin, "note": c.note,
    }  # fmt: skip


# --- classifications ------------------------------------------------------------------------------


def _resolve_kind(pii_kind) -> str:
    try:
        return taxonomy.resolve(pii_kind)
    except taxonomy.UnknownPIIKind as exc:
        raise ValidationError({"pii_kind": [str(exc)]}) from exc


def manual_root(*, by, dataset_id: int, field: DatasetField | None, kind: str, note: str = "") -> Classification:
    """A person's assertion (a root), not saved: the one shape classification_assert, the bulk actions and
    the inventory import write."""
    return Classification(
        dataset_id=dataset_id, field=field, pii_kind=kind, gdpr_class=taxonomy.gdpr_class(kind),
        origin=Origin.MANUAL, asserted_by=by, note=(note or "").strip()[:300],
    )  # fmt: skip


def obligations_after(outcome: store.Outcome, dataset_ids: Iterable[int] = ()) -> set[int]:
    """Re-evaluate the projects whose model datasets the change touched; returns their ids."""
    projects = store.projects_of_datasets(outcome.datasets | set(dataset_ids))
    obligations_evaluate(project_ids=projects)
    return projects


@transaction.atomic
def classification_assert(
    *, by, dataset: Dataset, field: DatasetField | None = None, pii_kind: str, note: str = ""
) -> Classification:
    """A person says: this field (or this dataset) holds this kind of PII. Propagates at once."""
    if not _can_classify(by):
        raise PermissionDeniedError(NOT_A_CLASSIFIER)
    kind = _resolve_kind(pii_kind)
    store.lock()
    if field is not None and field.dataset_id != dataset.pk:
        raise ValidationError({"field": [FIELD_OF_OTHER_DATASET.format(field=field.name)]})
    root = manual_root(by=by, dataset_id=dataset.pk, field=field, kind=kind, note=note)
    root.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            root.save()
    except IntegrityError as exc:
        raise DomainError(ALREADY_ASSERTED.format(kind=kind, where=_where(dataset, field)), field="pii_kind") from exc
    outcome = store.recompute([root.pk])
    audit.record(actor=by, action="classification.asserted", obj=root,
                 after={**_snapshot(root), "propagated": outcome.summary()})  # fmt: skip
    obligations_after(outcome, {dataset.pk})
    return root


@transaction.atomic
def classification_retract(*, by, classification: Classification) -> int:
    """Remove a person's assertion and exactly what derived from it; returns how many rows went."""
    if not _can_classify(by):
        raise PermissionDeniedError(NOT_A_CLASSIFIER)
    store.lock()
    root = Classification.objects.select_for_update().get(pk=classification.pk)
    if root.origin == Origin.DERIVED:
        raise DomainError(DERIVED_NOT_RETRACTED.format(root=root.derived_from_id))
    if root.origin == Origin.PRODUCER:
        raise DomainError(PRODUCER_NOT_RETRACTED)
    touched = set(Classification.objects.filter(derived_from=root).values_list("dataset_id", flat=True))
    touched.add(root.dataset_id)
    before = _snapshot(root)
    derived = Classification.objects.filter(derived_from=root).count()
    root.delete()
    audit.record(actor=by, action="classification.retracted", object_type="governance.classification",
                 object_id=str(classification.pk), before=before, after={"derived_removed": derived})  # fmt: skip
    obligations_evaluate(project_ids=store.projects_of_datasets(touched))
    return derived + 1


def _sync_producer_roots(dataset_ids: Iterable[int], entries: list) -> set[int]:
    """Make the producer roots of these datasets match their tags facets; returns the roots created.

    Only PRODUCER roots are created or removed here: a person's (MANUAL) classification stays whatever the
    tags facet says, empty or changed. The facets read are the stored ones, which ingest leaves as they
    were on a dataset linked to a model version the poster may not link (model_links.protected_dataset_ids),
    so such a poster cannot retract its labels either."""
    ids = sorted(set(dataset_ids))
    # Two set-based reads for the whole change, whatever its size: each dataset's tags facet (only that
    # key, not the large schema and lineage facets) and the producer roots already there. A dataset
    # with neither, almost every one, costs nothing more.
    tags, have_by_dataset = {}, defaultdict(dict)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        # KeyTransform, not "facets__tags": resolving that name raises and catches a FieldError inside
        # Django, whose traceback kept the whole lineage batch calling this alive until a GC pass.
        tags.update(
            Dataset.objects.filter(pk__in=chunk).annotate(tags=KeyTransform("tags", "facets")).values_list("pk", "tags")
        )
        for c in Classification.objects.filter(dataset_id__in=chunk, origin=Origin.PRODUCER).select_related("field"):
            have_by_dataset[c.dataset_id][(c.field.name if c.field_id else "", c.pii_kind)] = c
    created: set[int] = set()
    for pk in ids:
        if tags.get(pk) is None and not have_by_dataset.get(pk):
            continue
        dataset = Dataset.objects.only("pk", "namespace", "name").get(pk=pk)
        try:
            wanted = taxonomy.producer_assertions({"tags": tags.get(pk)})
        except taxonomy.UnknownPIIKind as exc:
            raise DomainError(f"{dataset}: {exc}", code="unknown_pii_kind") from exc
        have = have_by_dataset.get(pk, {})
        for key in sorted(set(have) - wanted):
            c = have[key]
            entries.append(
                audit.entry(actor=None, action="classification.retracted", object_type="governance.classification",
                            object_id=str(c.pk), before=_snapshot(c), after={"by": "producer"})
            )  # fmt: skip
            c.delete()
        for field_name, kind in sorted(wanted - set(have)):
            field = None
            if field_name:
                field, _ = DatasetField.objects.get_or_create(dataset=dataset, name=field_name)
            root = Classification.objects.create(
                dataset=dataset, field=field, pii_kind=kind, gdpr_class=taxonomy.gdpr_class(kind),
                origin=Origin.PRODUCER, note="From the producer's tags facet.",
            )  # fmt: skip
            created.add(root.pk)
            entries.append(audit.entry(actor=None, action="classification.asserted", obj=root, after=_snapshot(root)))
    return created


@transaction.atomic
def lineage_propagate(*, dataset_ids: Iterable[int], added_edges: Iterable[tuple[int, int]] = ()) -> store.Outcome:
    """After lineage changed (governance/lineage/signals.py): sync the producers' PII tags of
    `dataset_ids` into roots and recompute in full the roots that sit on those datasets (a change
    there may remove or weaken a label); then extend what the sources of `added_edges` already
    carry over the new edges (an added edge only adds: the cost is bound by the new edge's target
    and its downstream, not by the source's other outputs). Re-evaluates the projects whose model
    datasets moved. An unknown PII kind in a tag refuses the whole change."""
    dataset_ids, added_edges = set(dataset_ids), {(source, target) for source, target in added_edges or ()}
    store.lock()
    entries: list = []
    outcome = store.Outcome()
    recomputed: set[int] = set()
    if dataset_ids:
        created = _sync_producer_roots(dataset_ids, entries)
        recomputed = store.roots_at(dataset_ids) | created
        outcome = store.recompute(recomputed)
    if added_edges:
        # The roots just recomputed read the whole graph below them, new edges included.
        outcome = _merged(outcome, store.extend(added_edges, skip_roots=recomputed))
    if outcome.created or outcome.updated or outcome.deleted:
        touched = dataset_ids | {t for _, t in added_edges}
        entries.append(audit.entry(actor=None, action="classification.propagated", object_type="governance.dataset",
                                   object_id=",".join(map(str, sorted(touched)))[:100],
                                   after=outcome.summary()))  # fmt: skip
    if entries:
        audit.record_many(entries)
    obligations_after(outcome, dataset_ids)
    return outcome


def _merged(a: store.Outcome, b: store.Outcome) -> store.Outcome:
    return store.Outcome(a.roots + b.roots, a.created + b.created, a.updated + b.updated, a.deleted + b.deleted,
                         a.datasets | b.datasets)  # fmt: skip


@transaction.atomic
def classifications_recompute_all() -> store.Outcome:
    """Every root recomputed (a consistency pass, and the benchmark's full propagation)."""
    store.lock()
    roots = set(Classification.objects.filter(derived_from__isnull=True).values_list("pk", flat=True))
    outcome = store.recompute(roots)
    if outcome.created or outcome.updated or outcome.deleted:
        audit.record(actor=None, action="classification.propagated", object_type="governance.dataset",
                     object_id="*", after=outcome.summary())  # fmt: skip
    obligations_after(outcome)
    return outcome


DATASET_COMPLIANCE_FIELDS = ("legal_basis", "art9_condition", "retention_days", "owner")


@transaction.atomic
def dataset_compliance_update(
    *, by, dataset: Dataset, legal_basis: str = "", art9_condition: str = "", retention_days: int | None = None,
    owner=None,
) -> Dataset:  # fmt: skip
    """Record a dataset's legal basis, Art. 9(2) condition, retention period and owner."""
    if not _can_classify(by):
        raise PermissionDeniedError(NOT_A_CLASSIFIER)
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    data = {"legal_basis": legal_basis or "", "art9_condition": art9_condition or "",
            "retention_days": retention_days, "owner": owner}  # fmt: skip
    dataset, changed = model_update(
        instance=dataset, fields=DATASET_COMPLIANCE_FIELDS, data=data, by=by, action="dataset.compliance_updated"
    )
    if not changed:
        return dataset
    # Dataset.updated_at is not auto_now (ingest sets it from the producer's events), so a person's change sets it.
    dataset.updated_at = timezone.now()
    dataset.save(update_fields=["updated_at"])
    obligations_evaluate(project_ids=store.projects_downstream_of([dataset.pk]))
    return dataset


# --- obligations ----------------------------------------------------------------------------------


def _finding_sync(obligation: Obligation, rule: rules.Rule, project: AIProject, entries: list) -> None:
    """An unmet obligation has an open 'unmet' finding, a stale one a 'stale' finding; a met one neither."""
    want = {ObligationStatus.UNMET: FindingKind.OBLIGATION_UNMET, ObligationStatus.STALE: FindingKind.EVIDENCE_STALE}
    kind = want.get(obligation.status)
    subject = {"subject_type": "governance.obligation", "subject_id": str(obligation.pk)}
    for finding in Finding.objects.filter(
        kind__in=[FindingKind.OBLIGATION_UNMET, FindingKind.EVIDENCE_STALE], resolved_at=None, **subject
    ):
        if finding.kind == kind:
            kind = None  # already open
            continue
        resolution = f"Obligation {rule.id} is now {obligation.get_status_display().lower()}."
        finding_close(finding, resolution, entries=entries)
    if kind is None:
        return
    what = "unmet" if kind == FindingKind.OBLIGATION_UNMET else "evidence stale"
    finding_open(
        kind=kind, severity=rule.severity, title=f"{rule.title} ({rule.id}) {what}: {project.name}",
        detail=f"{rule.description} {obligation.detail}", project=project, entries=entries, **subject,
    )  # fmt: skip


def _evaluate_project(project: AIProject, entries: list) -> list[Obligation]:
    facts = selectors.project_facts(project)
    existing = {o.rule_id: o for o in Obligation.objects.select_for_update().filter(project=project)}
    hashes: dict[str, list[str]] = {}
    for rule_id, facts_hash in Evidence.objects.filter(obligation__project=project).values_list(
        "obligation__rule_id", "facts_hash"
    ):
        hashes.setdefault(rule_id, []).append(facts_hash)
    now = timezone.now()
    out = []
    for result in rules.evaluate(facts):
        obligation = existing.get(result.rule.id)
        if obligation is None and not result.applies:
            continue
        status, why = rules.status_of(result, hashes.get(result.rule.id, []))
        if obligation is None:
            obligation = Obligation.objects.create(
                project=project, rule_id=result.rule.id, status=status, facts=result.facts,
                facts_hash=result.facts_hash, detail=why, first_required_at=now, updated_at=now,
            )  # fmt: skip
            entries.append(audit.entry(actor=None, action="obligation.evaluated", obj=obligation,
                                       after={"rule": result.rule.id, "status": status,
                                              "facts_hash": result.facts_hash}))  # fmt: skip
        elif (obligation.status, obligation.facts_hash, obligation.detail) != (status, result.facts_hash, why):
            # Every change is audited, the wording of `detail` too (it used to be saved without an event
            # when status and facts stayed): status and facts_hash always, detail when it changed.
            before = {"status": obligation.status, "facts_hash": obligation.facts_hash}
            after = {"status": status, "facts_hash": result.facts_hash}
            if obligation.detail != why:
                before["detail"], after["detail"] = obligation.detail, why
            obligation.status, obligation.facts, obligation.facts_hash = status, result.facts, result.facts_hash
            obligation.detail, obligation.updated_at = why, now
            obligation.save(update_fields=["status", "facts", "facts_hash", "detail", "updated_at"])
            entries.append(audit.entry(actor=None, action="obligation.evaluated", obj=obligation,
                                       before=before, after={"rule": result.rule.id, **after}))  # fmt: skip
        else:
            out.append(obligation)
            continue
        _finding_sync(obligation, result.rule, project, entries)
        out.append(obligation)
    return out


@transaction.atomic
def obligations_evaluate(*, project_ids: Iterable[int]) -> int:
    """Re-derive the obligations of these projects from their current facts; returns how many projects."""
    entries: list = []
    projects = list(AIProject.objects.filter(pk__in=list(project_ids)).order_by("pk"))
    for project in projects:
        _evaluate_project(project, entries)
    if entries:
        audit.record_many(entries)
    return len(projects)


def obligations_evaluate_all() -> int:
    """Every project (beat): catches what no event announces, such as a changed tier or a new model link."""
    return obligations_evaluate(project_ids=AIProject.objects.values_list("pk", flat=True))


# --- evidence -------------------------------------------------------------------------------------


def can_give_evidence(user, project: AIProject) -> bool:
    return user is None or has_role(user, *EVIDENCE_REVIEWERS) or can_change_project(user, project)


def evidence_max_bytes() -> int:
    return int(getattr(settings, "KEEL_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))


@transaction.atomic
def evidence_add(*, by, obligation: Obligation, link: str = "", file=None, note: str = "") -> Evidence:
    """Evidence for an obligation, bound to the facts the obligation stands on now."""
    obligation = Obligation.objects.select_for_update().select_related("project").get(pk=obligation.pk)
    if not can_give_evidence(by, obligation.project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    if obligation.status == ObligationStatus.NOT_APPLICABLE:
        raise DomainError(NOT_APPLICABLE)
    link = (link or "").strip()
    if not link and not file:
        raise ValidationError({"link": [NO_EVIDENCE]})
    evidence = Evidence(obligation=obligation, link=link, note=(note or "").strip(), given_by=by,
                        facts_hash=obligation.facts_hash)  # fmt: skip
    if file is not None:
        if file.size > evidence_max_bytes():
            raise ValidationError({"file": [FILE_TOO_LARGE.format(size=file.size, limit=evidence_max_bytes())]})
        digest = hashlib.sha256()
        for chunk in file.chunks():
            digest.update(chunk)
        evidence.file = file
        evidence.file_name = file.name.rsplit("/", 1)[-1][:255]
        evidence.content_type = (getattr(file, "content_type", "") or "")[:100]
        evidence.size = file.size
        evidence.sha256 = digest.hexdigest()
    model_create(
        instance=evidence, by=by, action="evidence.given",
        extra={"obligation": obligation.pk, "rule": obligation.rule_id, "project": obligation.project.slug,
               "link": evidence.link, "file": evidence.file_name, "sha256": evidence.sha256,
               "facts_hash": evidence.facts_hash, "note": evidence.note},
    )  # fmt: skip
    obligations_evaluate(project_ids=[obligation.project_id])
    return evidence
