"""Forms of the ROI pages: log one amount, quick-log this month's actual from the home page, upload a file."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from core.dates import validate_month

from ..models import CATEGORIES_BY_KIND, AIProject, RoiBasis, RoiCategory, RoiKind
from ..permissions import can_change_project
from .import_service import BAD_MONTH
from .importer import month_from_cell
from .selectors import roi_month_status_for_user

KIND_OF_CATEGORY = {category: kind for kind, categories in CATEGORIES_BY_KIND.items() for category in categories}
CATEGORY_CHOICES = [
    (RoiKind(kind).label, [(c, RoiCategory(c).label) for c in categories])
    for kind, categories in CATEGORIES_BY_KIND.items()
]


def this_month() -> dt.date:
    return timezone.now().date().replace(day=1)


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (the browser's month picker), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}"})
    default_error_messages = {"invalid": BAD_MONTH}
    default_validators = [validate_month]

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        month = month_from_cell(value)
        if month is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return month

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, dt.date) else value


class RoiEntryForm(forms.Form):
    """One amount for one month; the category says whether it is value or cost."""

    month = MonthField(help_text="The month the amount belongs to.")
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, help_text="Value categories add, cost categories subtract.")
    basis = forms.ChoiceField(choices=RoiBasis.choices, initial=RoiBasis.ACTUAL, help_text="Planned or actual.")
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(
        max_length=3, required=False, help_text="Three-letter code; blank means the project's currency."
    )
    evidence_url = forms.URLField(max_length=500, required=False, assume_scheme="https", label="Evidence link")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, project: AIProject | None = None, **kwargs):
        # The ROI tab also has the ledger's filter form (category, basis): its own ids keep each label
        # on its own control.
        kwargs.setdefault("auto_id", "log_%s")
        super().__init__(*args, **kwargs)
        self.fields["month"].initial = this_month()
        if project is not None:
            self.fields["currency"].widget.attrs["placeholder"] = project.currency

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        data["kind"] = KIND_OF_CATEGORY[data["category"]]
        return data


class RoiQuickLogForm(RoiEntryForm):
    """The team lead's home: this month's actual for one of their projects."""

    project = forms.ModelChoiceField(queryset=AIProject.objects.none(), empty_label="Choose a project")
    field_order = ["project", "month", "category", "amount", "currency", "note"]

    def __init__(self, *args, user, projects=None, **kwargs):
        super().__init__(*args, **kwargs)
        if projects is None:
            projects = roi_month_status_for_user(user=user, month=this_month())
        allowed = [p.pk for p in projects if can_change_project(user, p)]
        self.fields["project"].queryset = AIProject.objects.filter(pk__in=allowed).order_by("name")
        del self.fields["basis"], self.fields["evidence_url"]
        # One compact row on the home page: the labels say enough.
        for field in self.fields.values():
            field.help_text = ""
        self.fields["currency"].widget.attrs.update(placeholder="project's", size=8)
        self.fields["note"].widget = forms.TextInput()

    def service_values(self) -> dict:
        return {**super().service_values(), "basis": RoiBasis.ACTUAL}


class RoiUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text="Columns: project, month (YYYY-MM), kind, category, basis, amount, currency, evidence_url, note.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )
