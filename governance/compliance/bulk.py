"""Bulk classification from the DPO's workspace: many columns, across datasets, in one write.

    fields_classify(by=, field_ids=, pii_kind=, note=)    one kind on every selected column
    suggestions_confirm(by=, field_ids=, note=)          each selected column gets the kind suggested for it

The rules are classification_assert's (governance/compliance/services.py) applied to the whole
selection before anything is written: only CLASSIFIERS may, the kind must be one of the taxonomy's,
a column may carry a person's assertion of a kind once. One refused column refuses the request, so a
refused request changes nothing; an accepted one is one transaction with one audit event that lists
every column, and one propagation of all the new roots.

A person's assertion is a plain root: the treatment of a label is what lineage did to the data on the
way (masking, aggregation), so it starts "plain" where it is asserted and propagation lowers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.ids import parse_id

from ..models import Classification, DatasetField, Origin
from . import services, store, suggestions, taxonomy

MAX_FIELDS = 500
NOTHING_SELECTED = "Select at least one column."
TOO_MANY = "Select at most {limit} columns at once (you selected {n})."
MISSING_FIELDS = "These columns no longer exist (reload the page): #{ids}."
NO_SUGGESTION = "No kind is suggested for {where}: choose a kind for it instead."
ALREADY = "Nothing was classified: {items} already carr{ies} that kind by a person's assertion."


@dataclass(frozen=True)
class BulkResult:
    roots: list[Classification]
    datasets: set[int]
    propagated: dict

    @property
    def count(self) -> int:
        return len(self.roots)


def _where(f: DatasetField) -> str:
    return f"{f.dataset.name}.{f.name}"


def _load(by, field_ids: Iterable) -> list[DatasetField]:
    if not services._can_classify(by):
        raise PermissionDeniedError(services.NOT_A_CLASSIFIER)
    parsed = {parse_id(i) for i in field_ids}
    if None in parsed:
        raise ValidationError({"fields": ["A selected column is not a column id."]})
    ids = sorted(parsed)
    if not ids:
        raise ValidationError({"fields": [NOTHING_SELECTED]})
    if len(ids) > MAX_FIELDS:
        raise ValidationError({"fields": [TOO_MANY.format(limit=MAX_FIELDS, n=len(ids))]})
    fields = list(DatasetField.objects.select_related("dataset").filter(pk__in=ids).order_by("pk"))
    missing = sorted(set(ids) - {f.pk for f in fields})
    if missing:
        raise DomainError(MISSING_FIELDS.format(ids=", #".join(map(str, missing))), field="fields")
    return fields


def _root(by, f: DatasetField, kind: str, note: str, now) -> Classification:
    root = services.manual_root(by=by, dataset_id=f.dataset_id, field=f, kind=kind, note=note)
    root.created_at = root.updated_at = now
    return root


def _assert_many(by, pairs: list[tuple[DatasetField, str]], note: str, action: str) -> BulkResult:
    """Write the roots of (column, kind) pairs, propagate them, audit once; the caller holds the transaction."""
    store.lock()
    taken = set(
        Classification.objects.filter(
            field_id__in=[f.pk for f, _ in pairs], origin=Origin.MANUAL, derived_from__isnull=True
        ).values_list("field_id", "pii_kind")
    )
    clash = [f"{_where(f)} ({kind})" for f, kind in pairs if (f.pk, kind) in taken]
    if clash:
        many = len(clash) > 1
        raise DomainError(ALREADY.format(items=", ".join(clash), ies="y" if many else "ies"), field="fields")
    now = timezone.now()
    note = (note or "").strip()[:300]
    roots = Classification.objects.bulk_create([_root(by, f, kind, note, now) for f, kind in pairs])
    if any(r.pk is None for r in roots):  # a backend that does not return the new ids
        roots = list(
            Classification.objects.filter(field_id__in=[f.pk for f, _ in pairs], origin=Origin.MANUAL, created_at=now)
        )
    outcome = store.recompute([r.pk for r in roots])
    datasets = {f.dataset_id for f, _ in pairs}
    audit.record(
        actor=by, action=action, object_type="governance.dataset",
        object_id=",".join(map(str, sorted(datasets)))[:100],
        after={"count": len(roots),
               "classifications": [{"id": r.pk, "dataset": r.dataset_id, "field": r.field_id, "kind": r.pii_kind}
                                   for r in roots],
               "note": note, "propagated": outcome.summary()},
    )  # fmt: skip
    services.obligations_after(outcome, datasets)
    return BulkResult(roots, datasets, outcome.summary())


@transaction.atomic
def fields_classify(*, by, field_ids: Iterable, pii_kind: str, note: str = "") -> BulkResult:
    """Assert one PII kind on every selected column (across datasets)."""
    fields = _load(by, field_ids)
    try:
        kind = taxonomy.resolve(pii_kind)
    except taxonomy.UnknownPIIKind as exc:
        raise ValidationError({"pii_kind": [str(exc)]}) from exc
    return _assert_many(by, [(f, kind) for f in fields], note, "classification.bulk_asserted")


@transaction.atomic
def suggestions_confirm(*, by, field_ids: Iterable, note: str = "") -> BulkResult:
    """Assert, on every selected column, the kind suggested for it (governance/compliance/suggestions.py)."""
    fields = _load(by, field_ids)
    pairs, without = [], []
    for f in fields:
        suggested = suggestions.suggest(f.name, f.suggested_pii_kind)
        if suggested is None:
            without.append(_where(f))
        else:
            pairs.append((f, suggested[0]))
    if without:
        raise DomainError(NO_SUGGESTION.format(where=", ".join(without)), field="fields")
    return _assert_many(by, pairs, note or "Confirmed the suggested kind.", "classification.suggestions_confirmed")
