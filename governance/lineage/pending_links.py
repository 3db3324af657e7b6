"""Model references that lineage named before Keel could link them (models.PendingModelLink).

pending_links_resolve(model_names=...)   retry them, with their posters' rights: a sync brought
                                         versions, or a model was linked to a project (receivers.py)
model_references_check(now=...)          beat: retry all, then open a finding for each reference still
                                         unresolved past KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES (one per
                                         dataset; resolved when it links, by model_links.resolve_pending)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit

from ..findings.services import finding_open
from ..models import Dataset, Finding, FindingKind, PendingModelLink, PendingOutcome, Severity
from . import model_links
from .signals import lineage_changed


def _poster(pending: PendingModelLink):
    if pending.requested_by_id:
        return pending.requested_by
    return model_links.PosterGone(pending.requested_by_name) if pending.requested_by_name else None


@transaction.atomic
def pending_links_resolve(*, model_names: Iterable[str] | None = None, now=None) -> set[int]:
    """Retry the open pending references (naming these models; all when None) with their posters' rights.
    Links what now resolves, sends lineage_changed for those datasets (so PII reaches the version's
    project and its obligations are evaluated), resolves what no longer names a version. Returns the
    datasets linked."""
    now = now or timezone.now()
    rows = PendingModelLink.objects.filter(resolved_at=None).select_related("requested_by")
    if model_names is not None:
        rows = rows.filter(model_name__in=set(model_names))
    rows = list(rows.order_by("dataset_id"))
    if not rows:
        return set()
    # Locked in the order the ingest writer updates datasets (namespace, name), so a sync and an ingest
    # touching the same datasets wait for each other instead of deadlocking.
    locked = Dataset.objects.select_for_update(of=("self",)).select_related("model_version__registered_model__project")
    by_pk = {ds.pk: ds for ds in locked.filter(pk__in=[p.dataset_id for p in rows]).order_by("namespace", "name")}
    entries: list = []
    linked: set[int] = set()
    lookups: dict[model_links.Reference, list] = {}
    for pending in rows:
        ds = by_pk[pending.dataset_id]
        ref = model_links.reference_of(ds.namespace, ds.name, ds.facets)
        if ref is None:
            model_links.resolve_pending(
                pending, PendingOutcome.WITHDRAWN, "its facets no longer name a version", now=now, entries=entries
            )
            continue
        poster = _poster(pending)
        if ref not in lookups:
            lookups[ref] = model_links.versions_for(ref)
        decision = model_links.decide(ds, ref, lookups[ref], poster)
        if decision.outcome == "pending":
            if decision.why[:300] != pending.reason:
                pending.reason = decision.why[:300]
                pending.save(update_fields=["reason"])
            continue
        if model_links.apply_decision(ds, ref, decision, by=poster, now=now, pending=pending, entries=entries):
            linked.add(ds.pk)
            after = {
                "model_version": ds.model_version_id, "model_link_source": ds.model_link_source,
                "version": model_links.version_label(decision.version), "requested_by": pending.requested_by_name,
                "pending_since": audit.json_value(pending.first_seen_at),
            }  # fmt: skip
            entries.append(audit.entry(actor=None, action="dataset.model_linked", obj=ds, after=after))
    if entries:
        audit.record_many(entries)
    if linked:
        lineage_changed.send(sender=Dataset, dataset_ids=set(linked))
    return linked


@transaction.atomic
def model_references_check(*, now=None) -> dict:
    """Retry every open reference, then open one finding per dataset whose reference stayed unresolved
    longer than the grace period. Idempotent: a dataset with an open finding gets no second one."""
    now = now or timezone.now()
    linked = pending_links_resolve(now=now)
    cutoff = now - dt.timedelta(minutes=settings.KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES)
    overdue = list(
        PendingModelLink.objects.filter(resolved_at=None, first_seen_at__lte=cutoff)
        .select_related("dataset")
        .order_by("dataset_id")
    )
    already = set(
        Finding.objects.filter(
            kind=FindingKind.MODEL_REFERENCE_UNRESOLVED, subject_type=model_links.SUBJECT, resolved_at=None
        ).values_list("subject_id", flat=True)
    )
    entries: list = []
    opened = 0
    for pending in overdue:
        if str(pending.dataset_id) in already:
            continue
        finding_open(
            kind=FindingKind.MODEL_REFERENCE_UNRESOLVED, severity=Severity.MEDIUM,
            title=f"Lineage names {pending.reference_label}, still not linked: {pending.dataset}",
            detail=(f"Lineage posted by {pending.requested_by_name or 'Keel'} since "
                    f"{pending.first_seen_at:%Y-%m-%d %H:%M} UTC names {pending.reference_label}, and it is "
                    f"not linked: {pending.reason}. Until it is, personal data reaching this dataset reaches "
                    "no project. Sync the registry, link the model to its project, or link the dataset by hand."),
            subject_type=model_links.SUBJECT, subject_id=str(pending.dataset_id), entries=entries,
            extra={"model": pending.model_name, "version": pending.version, "registry": pending.registry_name},
        )  # fmt: skip
        opened += 1
    if entries:
        audit.record_many(entries)
    return {"linked": len(linked), "findings_opened": opened, "still_pending": len(overdue)}
