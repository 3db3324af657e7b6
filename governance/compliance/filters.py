"""FilterSets shared by the PII inventory page and /api/v1/classifications/, /api/v1/obligations/."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from core.ids import IdFilter
from projects.inventory.filters import visible_projects

from ..models import Classification, Evidence, Obligation, ObligationStatus, Origin, Treatment
from . import taxonomy


class ClassificationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Dataset or field")
    pii_kind = django_filters.ChoiceFilter(choices=taxonomy.CHOICES, label="PII kind", empty_label="Any")
    gdpr_class = django_filters.ChoiceFilter(choices=taxonomy.GdprClass.choices, label="GDPR class",
                                             empty_label="Any")  # fmt: skip
    origin = django_filters.ChoiceFilter(choices=Origin.choices, label="Origin", empty_label="Any")
    treatment = django_filters.ChoiceFilter(choices=Treatment.choices, label="Treatment", empty_label="Any")
    verified = django_filters.BooleanFilter(label="Verified (column lineage all the way)")
    dataset = IdFilter(field_name="dataset_id", label="Dataset id")

    class Meta:
        model = Classification
        fields = ["q", "pii_kind", "gdpr_class", "origin", "treatment", "verified", "dataset"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(dataset__name__icontains=value) | Q(dataset__namespace__icontains=value) | Q(field__name__icontains=value)
        )


class ObligationFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=visible_projects, to_field_name="slug", label="Project")
    status = django_filters.ChoiceFilter(choices=ObligationStatus.choices, label="Status", empty_label="Any")
    rule_id = django_filters.CharFilter(label="Rule id")

    class Meta:
        model = Obligation
        fields = ["project", "status", "rule_id"]


class EvidenceFilterSet(django_filters.FilterSet):
    obligation = IdFilter(field_name="obligation_id", label="Obligation id")
    project = django_filters.ModelChoiceFilter(
        field_name="obligation__project", queryset=visible_projects, to_field_name="slug", label="Project"
    )

    class Meta:
        model = Evidence
        fields = ["obligation", "project"]
