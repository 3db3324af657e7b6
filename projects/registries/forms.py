"""Forms for registry connections (admin) and for linking a registry model to a project by hand."""

from __future__ import annotations

from django import forms

from ..models import Registry, RegistryKind
from .selectors import linkable_models_for_user
from .services import MLFLOW_NEEDS_URL


class ModelLinkForm(forms.Form):
    """Link a registry model to a project by hand; offers only visible models no project has yet."""

    model = forms.ModelChoiceField(
        queryset=None,
        label="Registry model",
        empty_label="Choose a model",
        help_text="Models already linked to a project (by hand or by their keel.project tag) are not listed.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = linkable_models_for_user(user=user)
        self.fields["model"].label_from_instance = lambda m: f"{m.name} ({m.registry.name})"


class RegistryAdminForm(forms.ModelForm):
    """The admin's registry form; says what the service would refuse, next to the field, before saving."""

    # A URL typed without a scheme is taken as https (Django 6's default, chosen explicitly now).
    base_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=Registry._meta.get_field("base_url").help_text,
    )

    class Meta:
        model = Registry
        fields = [
            "name", "kind", "base_url", "region", "username_env", "secret_env", "token_env", "enabled",
            "sync_interval_seconds", "write_back_signoff", "author_match",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("kind") == RegistryKind.MLFLOW and not data.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", MLFLOW_NEEDS_URL)
        return data
