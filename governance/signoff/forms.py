"""Sign-off forms. They parse input; the sign-off services decide who may ask, approve or withdraw."""

from __future__ import annotations

from django import forms

from projects.models import RiskTier

from ..models import Verdict
from ..models.signoff import MAX_APPROVERS, MAX_RECERTIFY_DAYS, REVIEWER_ROLE_CHOICES


class SignOffRequestForm(forms.Form):
    """Ask for sign-off of one of the project's model versions. The service decides whether it may be
    asked (tier assessed, not prohibited, none pending, the user's project)."""

    version = forms.ModelChoiceField(queryset=None, label="Model version", empty_label="Choose a version")
    justification = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this version should go to production: what changed, what was validated.",
    )

    def __init__(self, *args, versions, **kwargs):
        kwargs.setdefault("auto_id", "signoff_%s")
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions
        self.fields["version"].label_from_instance = _version_label


def _version_label(version) -> str:
    model = version.registered_model
    label = f"{model.name} v{version.version} ({model.registry.name})"
    holding = [row.name for row in getattr(version, "holding_now", ())]
    if holding:
        label += f" — {', '.join(holding)}"
    if getattr(version, "pending_signoff", None):
        label += f" — sign-off #{version.pending_signoff} pending"
    return label


class SignOffDecisionForm(forms.Form):
    """A reviewer's decision. `roles`: the required roles the reviewer holds; a choice is offered only
    when there is more than one (otherwise the service takes the one they hold)."""

    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect, label="Your decision")
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to reject or to ask for changes; kept with the decision and in the audit trail.",
    )
    role = forms.ChoiceField(required=False, label="Decide as", choices=())

    def __init__(self, *args, roles: list[str] = (), **kwargs):
        kwargs.setdefault("auto_id", "decision_%s")
        super().__init__(*args, **kwargs)
        if len(roles) > 1:
            self.fields["role"].choices = [("", "Any role of mine still needed"), *((r, r) for r in roles)]
        else:
            del self.fields["role"]


class SignOffWithdrawForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=1000, label="Reason", help_text="Optional: why the request is withdrawn."
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "withdraw_%s")
        super().__init__(*args, **kwargs)


class SignOffPolicyForm(forms.Form):
    """A new version of one tier's policy. The service validates the rules (reviewer roles only, enough
    approvers for the roles, a prohibited tier never approvable) and says why in its own words."""

    tier = forms.ChoiceField(choices=RiskTier.choices, label="Tier")
    required_roles = forms.MultipleChoiceField(
        choices=REVIEWER_ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Required roles",
        help_text="Each must be approved by a different person.",
    )
    min_approvers = forms.IntegerField(
        min_value=1, max_value=MAX_APPROVERS, initial=1, label="Distinct approvers",
        help_text="At least one per required role; more means any reviewer may add an approval.",
    )  # fmt: skip
    recertify_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_RECERTIFY_DAYS, label="Re-certify after (days)",
        help_text="Leave blank when an approval does not expire.",
    )  # fmt: skip
    approvable = forms.BooleanField(
        required=False, initial=True, label="Can be approved", help_text="Untick for a tier that must never deploy."
    )
    note = forms.CharField(required=False, max_length=300, label="Note", help_text="Why this version (kept with it).")
    metric_requirements = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Metric requirements",
        help_text="One a line, e.g. “auc >= 0.75” or “log_loss <= 0.3 on holdout”. A version missing a metric "
        "does not meet it. Open requests of the tier are re-checked when you publish.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "policy_%s")
        super().__init__(*args, **kwargs)
