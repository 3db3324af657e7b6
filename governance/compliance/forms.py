"""Forms of the dataset page (classify, record compliance) and of the project compliance tab (evidence)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from core.roles import Role

from ..models import Art9Condition, Dataset, DatasetField, LegalBasis
from . import taxonomy


class ClassificationForm(forms.Form):
    field = forms.ModelChoiceField(
        queryset=DatasetField.objects.none(), required=False, empty_label="The dataset as a whole", label="Field"
    )
    pii_kind = forms.ChoiceField(choices=[("", "Choose a kind"), *taxonomy.CHOICES], label="PII kind")
    note = forms.CharField(max_length=300, required=False, label="Note (why)")

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].queryset = DatasetField.objects.filter(dataset=dataset).order_by("name")


class DatasetComplianceForm(forms.Form):
    legal_basis = forms.ChoiceField(choices=[("", "Not recorded"), *LegalBasis.choices], required=False,
                                    label="Legal basis (GDPR Art. 6(1))")  # fmt: skip
    art9_condition = forms.ChoiceField(choices=[("", "Not recorded"), *Art9Condition.choices], required=False,
                                       label="Art. 9(2) condition (special categories)")  # fmt: skip
    retention_days = forms.IntegerField(min_value=1, max_value=36500, required=False, label="Retention (days)")
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Owner")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=Role.values)
            .distinct()
            .order_by("username")
        )


class EvidenceForm(forms.Form):
    link = forms.URLField(max_length=1000, required=False, label="Link", assume_scheme="https")
    file = forms.FileField(required=False, label="Or a file")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note")
