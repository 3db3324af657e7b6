"""Risk register and tier questionnaire forms. They parse input; the services decide (scale, residual
justification, who may accept), so a refusal reads the same on the page as in the API."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from core.dates import validate_date

from ..models import NIST_FUNCTIONS, RISK_TRANSITIONS, MitigationStatus, Risk, RiskCategory, RiskStatus
from . import tiering
from .scoring import IMPACT_LABELS, LIKELIHOOD_LABELS, SCALE


def _people():
    return get_user_model().objects.filter(is_active=True).order_by("username")


def _person_label(user) -> str:
    return user.get_full_name() or user.username


def _scale_field(labels: dict[int, str], *, required: bool, label: str, help_text: str = "", blank: str = ""):
    # Any whole number is accepted here, so that the service, not the form, refuses 0 or 6 with the
    # message the API gives too; the widget offers only 1–5.
    choices = [("", blank or "Choose")] + [(n, f"{n} – {labels[n]}") for n in SCALE]
    return forms.IntegerField(required=required, label=label, help_text=help_text, widget=forms.Select(choices=choices))


def _category_choices():
    return [
        (value, f"{label} (NIST AI RMF: {', '.join(NIST_FUNCTIONS[value])})") for value, label in RiskCategory.choices
    ]


class RiskForm(forms.Form):
    """Add or edit a risk. On a new risk the residual scores may be left blank: they start as the inherent ones."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ChoiceField(choices=_category_choices)
    likelihood = _scale_field(LIKELIHOOD_LABELS, required=True, label="Inherent likelihood",
                              help_text="How likely the harm is before any mitigation.")  # fmt: skip
    impact = _scale_field(IMPACT_LABELS, required=True, label="Inherent impact",
                          help_text="How bad the harm would be before any mitigation.")  # fmt: skip
    residual_likelihood = _scale_field(LIKELIHOOD_LABELS, required=True, label="Residual likelihood",
                                       help_text="After the mitigations in place.")  # fmt: skip
    residual_impact = _scale_field(IMPACT_LABELS, required=True, label="Residual impact",
                                   help_text="After the mitigations in place.")  # fmt: skip
    residual_justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the residual score is above the inherent one.",
    )
    owner = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, user, risk: Risk | None = None, **kwargs):
        if risk is not None:
            defaults = {
                "title": risk.title, "description": risk.description, "category": risk.category,
                "likelihood": risk.likelihood, "impact": risk.impact,
                "residual_likelihood": risk.residual_likelihood, "residual_impact": risk.residual_impact,
                "residual_justification": risk.residual_justification, "owner": risk.owner_id,
            }  # fmt: skip
        else:
            defaults = {"owner": user.pk}
        # FormView always passes `initial` (empty): the risk's values and the default owner go under it.
        kwargs["initial"] = {**defaults, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()
        self.fields["owner"].label_from_instance = _person_label
        if risk is None:
            for name in ("residual_likelihood", "residual_impact"):
                field = self.fields[name]
                field.required = False
                field.widget.choices = [("", "Same as inherent"), *field.widget.choices[1:]]
                field.help_text = "After the mitigations in place; blank: the same as the inherent one."

    def service_fields(self) -> dict:
        """The cleaned data as the service takes it: a blank residual score is left to its default."""
        return {name: value for name, value in self.cleaned_data.items() if value is not None}


class RiskTransitionForm(forms.Form):
    status = forms.ChoiceField(choices=RiskStatus.choices, label="New status")
    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to accept a risk: why the residual risk is acceptable. Kept in the audit trail.",
    )
    accept_until = forms.DateField(
        required=False,
        validators=[validate_date],
        label="Acceptance expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When accepting: the last day the acceptance holds (at most 3 years ahead). Required for a "
        "high or critical residual risk; when it passes, a finding asks for the risk to be accepted again.",
    )

    def __init__(self, *args, risk: Risk, **kwargs):
        kwargs.setdefault("auto_id", "transition_%s")
        super().__init__(*args, **kwargs)
        # Offer only the allowed moves, but accept any status: the service refuses an illegal one with
        # the message that names the allowed next statuses. An accepted risk may be accepted again (renewed).
        allowed = RISK_TRANSITIONS[risk.status]
        choices = [(s, RiskStatus(s).label) for s in RiskStatus.values if s in allowed]
        if risk.status == RiskStatus.ACCEPTED:
            choices.insert(0, (RiskStatus.ACCEPTED, "Accepted again (renew the acceptance)"))
        self.fields["status"].widget.choices = choices


class RiskReviewForm(forms.Form):
    note = forms.CharField(required=False, max_length=500, label="Review note", help_text="Optional: what you checked.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "review_%s")
        super().__init__(*args, **kwargs)


class MitigationForm(forms.Form):
    action = forms.CharField(max_length=300)
    owner = forms.ModelChoiceField(queryset=None)
    due_date = forms.DateField(
        required=False, validators=[validate_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    status = forms.ChoiceField(choices=MitigationStatus.choices, initial=MitigationStatus.PLANNED)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "mitigation_%s")
        kwargs["initial"] = {"owner": user.pk, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()
        self.fields["owner"].label_from_instance = _person_label


class MitigationStatusForm(forms.Form):
    status = forms.ChoiceField(choices=MitigationStatus.choices, label="Status")

    def __init__(self, *args, mitigation, **kwargs):
        kwargs.setdefault("auto_id", f"mitigation{mitigation.pk}_%s")
        kwargs["initial"] = {"status": mitigation.status, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)


# --- tier assessment ------------------------------------------------------------------------------


class TierQuestionnaireForm(forms.Form):
    """The EU AI Act questionnaire: one field per question asked, named by its id, grouped by section.

    Nothing is pre-answered: a radio group starts with no choice, a select with "Choose". Which
    questions are asked follows from the answers given (tier_questions.visible_questions): posted ones
    on a bound form, else `answers` (the latest version's, or a preview's). Every question asked must
    be answered; the form names each one left open and nothing is saved. tiering.normalise has the
    last word, so a carve-out answered for another Annex III point is refused here as in the API.
    """

    def __init__(self, *args, answers: dict | None = None, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        source = self.posted_answers() if self.is_bound else dict(answers or {})
        self.answers: dict[str, str] = {}
        for q in tiering.visible_questions(source):
            choices = q.choices
            if q.id == "D2":  # only the carve-out of the Annex III point chosen in D1 (and "none")
                choices = tuple(c for c in q.choices if c[0] == "none" or tiering.CARVE_OUTS[c[0]] == source.get("D1"))
            values = [value for value, _ in choices]
            radio = len(choices) <= 5  # short lists as radio buttons; Annex I and III points as a select
            help_text = q.ref + (f" · asked when {tiering.ASKED_WHEN[q.id]}" if q.id in tiering.ASKED_WHEN else "")
            self.fields[q.id] = forms.ChoiceField(
                label=q.text,
                choices=choices if radio else [("", "Choose"), *choices],
                initial=source.get(q.id) if source.get(q.id) in values else None,
                required=False,  # clean() names every unanswered question with the service's message
                help_text=help_text,
                widget=forms.RadioSelect if radio else forms.Select,
                disabled=read_only,
            )

    def posted_answers(self) -> dict[str, str]:
        """The posted answers that are choices of their question (anything else: unanswered)."""
        answers = {}
        for q in tiering.QUESTIONS:
            value = self.data.get(q.id)
            if value in {v for v, _ in q.choices}:
                answers[q.id] = value
        return answers

    def sections(self) -> list[dict]:
        out = []
        for section, title in tiering.SECTIONS.items():
            fields = [self[q.id] for q in tiering.QUESTIONS if q.section == section and q.id in self.fields]
            out.append({"id": section, "title": title, "fields": fields})
        return out

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.answers = tiering.normalise({k: v for k, v in data.items() if v})
        except tiering.AnswerError as exc:
            for question_id, message in exc.errors.items():
                self.add_error(question_id if question_id in self.fields else None, message)
            return data
        missing = tiering.unanswered(self.answers)
        for question_id in missing:
            self.add_error(question_id, tiering.UNANSWERED)
        if missing:
            self.add_error(None, NOT_ALL_ANSWERED.format(count=len(missing), ids=", ".join(missing)))
        return data


NOT_ALL_ANSWERED = (
    "{count} question(s) not answered yet ({ids}). Nothing was saved: the tier is set only from a complete "
    "questionnaire, and until then the project is not assessed."
)
