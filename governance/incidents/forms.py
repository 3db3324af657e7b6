"""The incident pages' forms. Their choices are scoped to what the signed-in person may see."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.dates import InstantField
from projects.inventory.selectors import projects_for_user
from projects.registries.selectors import model_versions_for_user

from ..models.findings import Severity
from ..models.incidents import Seriousness

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class InstantInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=LOCAL_INPUT, **kwargs)


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=300)
    description = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text="What happened, to whom, and how it came to light.")  # fmt: skip
    severity = forms.ChoiceField(choices=Severity.choices)
    seriousness = forms.ChoiceField(
        choices=Seriousness.choices, initial=Seriousness.NOT_ASSESSED, label="Serious incident (EU AI Act)",
        help_text="Until it is assessed, the shortest reporting period (2 days) applies.",
    )  # fmt: skip
    aware_at = InstantField(
        widget=InstantInput(), label="Became aware at (UTC)",
        help_text="When the organisation learned of it: the reporting period runs from then.",
    )  # fmt: skip
    projects = forms.ModelMultipleChoiceField(queryset=None, label="Affected projects",
                                              widget=forms.SelectMultiple(attrs={"size": 6}))  # fmt: skip
    model_versions = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Affected model versions",
        widget=forms.SelectMultiple(attrs={"size": 6}), help_text="Versions of the affected projects' models.",
    )  # fmt: skip
    root_cause = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, only=None, **kwargs):
        """`only`: the fields this person may edit (the rest are left off the form)."""
        super().__init__(*args, **kwargs)
        for name in [n for n in self.fields if only is not None and n not in only]:
            del self.fields[name]
        self._scope(user)
        self.fields.get("aware_at", forms.Field()).initial = timezone.now().replace(second=0, microsecond=0)

    def _scope(self, user) -> None:
        if "projects" in self.fields:
            self.fields["projects"].queryset = projects_for_user(user=user).order_by("name")
        if "model_versions" in self.fields:
            self.fields["model_versions"].queryset = (
                model_versions_for_user(user=user)
                .filter(registered_model__project__isnull=False, deleted_at__isnull=True)
                .select_related("registered_model")
                .order_by("registered_model__name", "-version_number")
            )


class NoteForm(forms.Form):
    text = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 2}), label="Add to the timeline")


class ActionForm(forms.Form):
    description = forms.CharField(max_length=500, label="Corrective action")
    owner = forms.ModelChoiceField(queryset=None, to_field_name="username")
    due_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")


class ReportForm(forms.Form):
    reported_at = InstantField(widget=InstantInput(), label="Reported at (UTC)")
    reference = forms.CharField(max_length=200, required=False, label="Authority's reference")
