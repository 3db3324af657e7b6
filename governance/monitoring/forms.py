"""The monitoring plan's form (one signal of a project: add, or change the one of that name)."""

from __future__ import annotations

from django import forms

from ..models import MonitoringPlanItem


class MonitoringPlanItemForm(forms.ModelForm):
    class Meta:
        model = MonitoringPlanItem
        fields = ["name", "kind", "lower", "upper", "expected_every_hours", "on_breach"]
        labels = {"expected_every_hours": "Expected at least every (hours)", "on_breach": "When out of bounds"}
        help_texts = {
            "name": "Exactly as it arrives, e.g. DriftedColumnsCount(drift_share=0.5).share from an Evidently report.",
        }

    def clean(self):
        data = super().clean()
        lower, upper = data.get("lower"), data.get("upper")
        if lower is not None and upper is not None and lower > upper:
            self.add_error("lower", "The lower bound must not be above the upper bound.")
        return data

    def validate_unique(self):
        """Saving a name the plan has already changes that item (the service decides), so no uniqueness error."""

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}
