"""Forms of the project pages: create or edit a project, move it to another lifecycle stage."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from core.dates import validate_month
from core.roles import is_admin

from ..models import INITIAL_STAGES, AIProject, Stage, Team
from ..permissions import user_team_ids

START_MONTH_FORMAT = "Give a month as YYYY-MM, e.g. 2026-11."
START_MONTH_NOT_FIRST = (
    "The start month is a whole month: {value} is not the 1st. Give the month as YYYY-MM (e.g. {month}), "
    "or the 1st of the month."
)


class StartMonthField(forms.DateField):
    """A month typed as YYYY-MM (the browser's month picker) or as the 1st of a month (YYYY-MM-01);
    another day is refused with a message saying which month was probably meant."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}(-01)?"})
    input_formats = ["%Y-%m", "%Y-%m-%d"]
    default_error_messages = {"invalid": START_MONTH_FORMAT}
    default_validators = [validate_month]

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and day.day != 1:
            raise forms.ValidationError(
                START_MONTH_NOT_FIRST.format(value=day.isoformat(), month=f"{day:%Y-%m}"), code="not_first"
            )
        return day

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if hasattr(value, "strftime") else value


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
        field_classes = {"start_month": StartMonthField}
        help_texts = {
            "start_month": "The first month the business case counts from, as YYYY-MM (e.g. 2026-11); blank: not set."
        }

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
