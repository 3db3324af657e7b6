"""Reads of the DPO's workspace: the dataset catalogue (filters, a page of datasets with their columns and
labels in a fixed number of queries, its export) and what waits for the DPO.

A column's PII state, as the catalogue marks it:

    labelled      it carries a classification (asserted here, a producer's tag, or derived along lineage)
    suggested     no label, but a kind is suggested for it (governance/compliance/suggestions.py)
    unclassified  no label and no suggestion: nobody has said anything about it yet

A dataset's state for the filter: "has PII" (some label on it), "suggested" (some column suggested),
"unclassified" (some column with neither), "none" (no label at all).
"""

from __future__ import annotations

from collections import defaultdict

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from core.roles import Role
from projects.inventory.selectors import projects_for_user

from ..models import Classification, Dataset, DatasetField, DataSource, Obligation, ObligationStatus
from . import selectors, suggestions, taxonomy

PII_STATES = [
    ("pii", "Has PII"),
    ("suggested", "Has suggested columns to confirm"),
    ("unclassified", "Has unclassified columns"),
    ("none", "No PII known"),
]
RECORD_STATES = [("missing", "Carries PII, legal basis or owner missing")]


def _field_labelled() -> Exists:
    return Exists(Classification.objects.filter(field_id=OuterRef("pk")))


def suggested_fields() -> QuerySet[DatasetField]:
    """Columns without any label for which a kind is suggested (the DPO's queue)."""
    return DatasetField.objects.filter(suggestions.name_q()).exclude(_field_labelled())


def _has_pii() -> Exists:
    return Exists(Classification.objects.filter(dataset_id=OuterRef("pk")))


def _owners(request=None):
    User = get_user_model()
    return User.objects.filter(is_active=True, groups__name__in=Role.values).distinct().order_by("username")


def _namespaces():
    return [(ns, ns) for ns in DataSource.objects.order_by("namespace").values_list("namespace", flat=True)]


class CatalogueFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Dataset, namespace or column")
    namespace = django_filters.ChoiceFilter(choices=_namespaces, label="Namespace", empty_label="Any")
    owner = django_filters.ModelChoiceFilter(queryset=_owners, label="Owner", null_label="Nobody",
                                             empty_label="Anyone")  # fmt: skip
    pii = django_filters.ChoiceFilter(choices=PII_STATES, method="pii_state", label="PII state", empty_label="Any")
    record = django_filters.ChoiceFilter(choices=RECORD_STATES, method="record_state", label="Compliance record",
                                         empty_label="Any")  # fmt: skip

    class Meta:
        model = Dataset
        fields = ["q", "namespace", "owner", "pii", "record"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        column = Exists(DatasetField.objects.filter(dataset_id=OuterRef("pk"), name__icontains=value))
        return queryset.filter(Q(name__icontains=value) | Q(namespace__icontains=value) | column)

    def pii_state(self, queryset, name, value):
        if value == "pii":
            return queryset.filter(_has_pii())
        if value == "none":
            return queryset.exclude(_has_pii())
        columns = DatasetField.objects.filter(dataset_id=OuterRef("pk")).exclude(_field_labelled())
        if value == "suggested":
            return queryset.filter(Exists(columns.filter(suggestions.name_q())))
        return queryset.filter(Exists(columns.exclude(suggestions.name_q())))

    def record_state(self, queryset, name, value):
        return queryset.filter(_has_pii()).filter(Q(legal_basis="") | Q(owner__isnull=True))


def catalogue() -> QuerySet[Dataset]:
    return Dataset.objects.select_related("owner", "model_version__registered_model__project").order_by(
        "namespace", "name", "pk"
    )


def _source_text(c: Classification) -> str:
    """Where a label came from, in words (the page shows it under the label)."""
    if c.origin == "manual":
        return f"asserted by {c.asserted_by.username if c.asserted_by else 'a former user'}"
    if c.origin == "producer":
        return "producer's tag"
    root = c.derived_from
    start = f"{root.dataset.name}.{root.field.name}" if root and root.field_id else (root.dataset.name if root else "")
    return f"derived from {start}, {c.hops} hop{'s' if c.hops != 1 else ''}" + ("" if c.verified else ", unverified")


def decorate(datasets) -> list[Dataset]:
    """Give each dataset of a page `.columns` (each with `.labels`, `.suggestion`, `.state`) and
    `.dataset_labels` (labels on the dataset as a whole): two queries whatever the page holds."""
    datasets = list(datasets)
    ids = [d.pk for d in datasets]
    fields_by = defaultdict(list)
    for f in DatasetField.objects.filter(dataset_id__in=ids).order_by("dataset_id", "name"):
        fields_by[f.dataset_id].append(f)
    labels = defaultdict(list)
    for c in (
        Classification.objects.filter(dataset_id__in=ids)
        .select_related("asserted_by", "derived_from__dataset", "derived_from__field")
        .order_by("pii_kind", "hops", "pk")
    ):
        c.source_text = _source_text(c)
        c.path_text = selectors.path_text(c) if c.path else ""
        labels[(c.dataset_id, c.field_id)].append(c)
    for d in datasets:
        d.columns = fields_by[d.pk]
        d.dataset_labels = labels[(d.pk, None)]
        for f in d.columns:
            f.labels = labels[(d.pk, f.pk)]
            f.suggestion = None if f.labels else suggestions.suggest(f.name, f.suggested_pii_kind)
            f.suggestion_label = taxonomy.KINDS[f.suggestion[0]].label if f.suggestion else ""
            f.state = "labelled" if f.labels else ("suggested" if f.suggestion else "unclassified")
        d.suggested_count = sum(f.state == "suggested" for f in d.columns)
        d.unclassified_count = sum(f.state == "unclassified" for f in d.columns)
        d.has_pii = bool(d.dataset_labels) or any(f.labels for f in d.columns)
    return datasets


def export_rows(qs: QuerySet[Dataset]):
    """One row per column (one per dataset without columns), in chunks of 200 datasets."""
    pks = list(qs.values_list("pk", flat=True))
    for i in range(0, len(pks), 200):
        for d in decorate(catalogue().filter(pk__in=pks[i : i + 200])):
            base = [d.namespace, d.name]
            record = [d.owner.username if d.owner else "", d.legal_basis]
            whole = "; ".join(f"{c.pii_kind} ({c.source_text})" for c in d.dataset_labels)
            if not d.columns:
                yield [*base, "", "", "", whole, "", *record]
            for f in d.columns:
                text = "; ".join(
                    f"{c.pii_kind} ({c.treatment}, {c.source_text}{': ' + c.path_text if c.path_text else ''})"
                    for c in f.labels
                )
                suggestion = f.suggestion[0] if f.suggestion else ""
                yield [*base, f.name, f.data_type, f.state, text or whole, suggestion, *record]


EXPORT_HEADER = ("namespace", "dataset", "field", "data_type", "state", "labels", "suggested_kind", "owner",
                 "legal_basis")  # fmt: skip


def missing_record_datasets() -> QuerySet[Dataset]:
    """Datasets carrying personal data whose GDPR record lacks a legal basis or an owner."""
    return Dataset.objects.filter(_has_pii()).filter(Q(legal_basis="") | Q(owner__isnull=True))


def waiting(user) -> dict:
    """What waits for the DPO: suggested columns to confirm, PII datasets without a legal basis or owner,
    and the visible projects with unmet obligations (a handful of aggregate queries)."""
    missing = missing_record_datasets()
    unmet = (
        Obligation.objects.filter(status=ObligationStatus.UNMET, project__in=projects_for_user(user=user).values("pk"))
        .values("project__slug", "project__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "project__name")
    )
    unmet = list(unmet)
    return {
        "suggested": suggested_fields().count(),
        "suggested_datasets": suggested_fields().values("dataset_id").distinct().count(),
        "record_missing": missing.count(),
        "unmet_projects": unmet[:8],
        "unmet_total": sum(r["n"] for r in unmet),
    }
