from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from core.roles import is_admin

from .models import INITIAL_STAGES, AIProject, Registry, RegistryKind, Stage, Team
from .permissions import user_team_ids
from .selectors import linkable_models_for_user
from .services import MLFLOW_NEEDS_URL


def _people():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class ProjectForm(forms.ModelForm):
    """Create/edit a project; the team list offers only teams the user may put projects in."""

    class Meta:
        model = AIProject
        fields = [
            "name", "purpose", "team", "owner", "executive_sponsor", "stage", "health",
            "currency", "expected_investment", "expected_annual_value", "start_month", "horizon_months",
        ]  # fmt: skip
        widgets = {"purpose": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all()
        if not is_admin(user):
            teams = teams.filter(pk__in=user_team_ids(user))
        self.fields["team"].queryset = teams
        self.fields["owner"].queryset = _people()
        self.fields["executive_sponsor"].queryset = _people()
        self.fields["owner"].label_from_instance = self.fields["executive_sponsor"].label_from_instance = lambda u: (
            u.get_full_name() or u.username
        )
        if self.instance.pk:
            del self.fields["stage"]  # the stage moves only through the stage-change form
        else:
            self.fields["stage"].choices = [(s, Stage(s).label) for s in INITIAL_STAGES]
            self.fields["owner"].initial = user.pk


class StageChangeForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput)

    def __init__(self, *args, project: AIProject, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only the allowed moves, but accept any stage so that the service, not the form,
        # refuses an illegal one, with the message that names the allowed next stages.
        self.fields["stage"].widget.choices = [(s, Stage(s).label) for s in project.allowed_next_stages()]


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
            "sync_interval_seconds", "write_back_signoff",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("kind") == RegistryKind.MLFLOW and not data.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", MLFLOW_NEEDS_URL)
        return data
