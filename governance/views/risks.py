"""The risk register pages: a project's risk tab, one risk with its mitigations and workflow, and the
portfolio page with its heat map and exports. Thin: parse input, call one service or selector, shape
the output; the refusals come from the services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from core import roles
from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin, filtered
from core.permissions import RoleRequiredMixin
from core.roles import has_role
from projects.inventory.selectors import projects_for_user
from projects.models import AIProject

from ..audit.selectors import AUDIT_READERS
from ..models import Mitigation, Risk
from ..risks import charts, scoring, services
from ..risks.filters import RiskFilterSet
from ..risks.forms import MitigationForm, MitigationStatusForm, RiskForm, RiskReviewForm, RiskTransitionForm
from ..risks.permissions import RISK_WRITERS, can_edit_risks
from ..risks.selectors import (
    RISK_AXES,
    mitigations_for_user,
    risk_for_page,
    risk_heatmap_counts,
    risk_register,
    risks_for_user,
    tier_assessment_current,
)

ALL_ROLES = roles.ALL_ROLES
DEFAULT_AXIS = "residual"
NOT_YOUR_REGISTER = "You can only change the risk register of a project of your own team."
EXPORT_HEADER = [
    "id", "project", "team", "tier", "title", "category", "nist_ai_rmf_functions", "owner", "status",
    "likelihood", "impact", "inherent_score", "inherent_level", "inherent_computation",
    "residual_likelihood", "residual_impact", "residual_score", "residual_level", "residual_computation",
    "next_review_date", "review_overdue", "last_reviewed_at", "accepted_by", "updated_at",
]  # fmt: skip


# --- reading: filters, heat map, register -----------------------------------------------------------


def _axis(request) -> str:
    axis = request.GET.get("axis")
    return axis if axis in RISK_AXES else DEFAULT_AXIS


def _url(params) -> str:
    return "?" + params.urlencode() if params else "?"


def _heatmap(request, base, filterset: RiskFilterSet, *, compact: bool, anchor: str) -> dict:
    """The heat map of the filtered risks on the chosen axis, the links that toggle the axis, and the
    same grid as a table of links (the keyboard and screen-reader way to filter by a cell).

    The cell filter of the axis shown is left out of the counts, so the map keeps showing every cell
    while the list below shows one.
    """
    axis = _axis(request)
    l_name, i_name = RISK_AXES[axis]
    params = request.GET.copy()
    for name in ("page", "export"):
        params.pop(name, None)
    without_cell = params.copy()
    for name in (l_name, i_name):
        without_cell.pop(name, None)
    cell_free = RiskFilterSet(without_cell or None, queryset=base, request=request)
    counts = risk_heatmap_counts(risks=filtered(cell_free), axis=axis)

    # The cell filters in force, on either axis (the toggle keeps the other axis's cell), each with the
    # link that drops it; `selected` is the one on the axis shown, outlined on the map.
    cell_filters, selected = [], None
    cleaned = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
    for name, (lk_name, im_name) in RISK_AXES.items():
        lk, im = cleaned.get(lk_name), cleaned.get(im_name)
        if lk and im:
            p = params.copy()
            p.pop(lk_name, None)
            p.pop(im_name, None)
            cell_filters.append({"axis": name, "likelihood": int(lk), "impact": int(im), "clear_url": _url(p) + anchor})
            if name == axis:
                selected = (int(lk), int(im))
    label = axis.capitalize()
    figure = charts.risk_heatmap(counts, axis_label=label, selected=selected, compact=compact,
                                 height=300 if compact else 440)  # fmt: skip

    toggles = []
    for name in RISK_AXES:
        p = params.copy()
        p["axis"] = name
        toggles.append({"axis": name, "label": name.capitalize(), "url": _url(p), "current": name == axis})
    rows = []
    for lk in reversed(scoring.SCALE):
        cells = []
        for im in scoring.SCALE:
            p = without_cell.copy()
            p["axis"], p[l_name], p[i_name] = axis, str(lk), str(im)
            cells.append({
                "impact": im, "count": counts[lk - 1][im - 1], "level": scoring.level(lk, im),
                "url": _url(p) + anchor, "selected": selected == (lk, im),
            })  # fmt: skip
        rows.append({"likelihood": lk, "label": scoring.LIKELIHOOD_LABELS[lk], "cells": cells})
    return {
        "axis": axis,
        "axis_label": label,
        "heatmap": charts.figure_spec(figure),
        "heatmap_total": sum(map(sum, counts)),
        "heatmap_rows": rows,
        "impact_labels": [(im, scoring.IMPACT_LABELS[im]) for im in scoring.SCALE],
        "axis_toggles": toggles,
        "click_params": {"x": i_name, "y": l_name, "set": f"axis={axis}", "anchor": anchor},
        "selected_cell": selected,
        "cell_filters": cell_filters,
        "cell_filter_names": [name for pair in RISK_AXES.values() for name in pair],
    }


def _page(request, qs, per_page: int) -> dict:
    page = Paginator(risk_register(risks=qs), per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    return {"page_obj": page, "risks": page.object_list, "querystring": params.urlencode()}


class RiskPortfolioView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Every risk the user may see: the heat map, the filters, the list, and the exports."""

    allowed_roles = ALL_ROLES
    template_name = "governance/risk_portfolio.html"
    paginate_by = 25
    filterset_class = RiskFilterSet
    export_stem = "risks"
    export_title = "Risks"
    export_header = EXPORT_HEADER

    def get_queryset(self):
        return risks_for_user(user=self.request.user)

    def export_rows(self, qs):
        return _export_rows(qs)

    def get_context_data(self, **kwargs):
        # Not a plain list: the page's rows carry the register's mitigation counts and the heat map leaves
        # the cell filter out, so the list mixin serves the filters and the exports, not the page.
        ctx = super(FilteredListMixin, self).get_context_data(**kwargs)
        base = self.filterset.queryset
        ctx.update(_heatmap(self.request, base, self.filterset, compact=False, anchor="#risk-list"))
        ctx.update(_page(self.request, filtered(self.filterset), self.paginate_by))
        ctx["filter"] = self.filterset
        return ctx


def project_in_scope(user, slug: str) -> AIProject:
    """The project a governance tab is about; one the user may not see is a 404, as if it did not exist."""
    try:
        return projects_for_user(user=user).get(slug=slug)
    except AIProject.DoesNotExist:
        raise Http404("No such project, or you may not see it.") from None


class ProjectMixin(RoleRequiredMixin):
    """Role first (anonymous → login, no role → 403), then scope (404), then, for writes, the object rule."""

    allowed_roles = ALL_ROLES
    writes = False

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            self.project = project_in_scope(request.user, kwargs["slug"])
            if self.writes and not can_edit_risks(request.user, self.project):
                raise PermissionDenied(NOT_YOUR_REGISTER)
        return super().dispatch(request, *args, **kwargs)


class ProjectRiskListView(ProjectMixin, TemplateView):
    """A project's risk tab: its tier, its heat map, its register."""

    template_name = "governance/risk_project.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        base = risks_for_user(user=user).filter(project=self.project)
        filterset = RiskFilterSet(self.request.GET or None, queryset=base, request=self.request)
        ctx.update(_heatmap(self.request, base, filterset, compact=True, anchor="#register"))
        ctx.update(_page(self.request, filtered(filterset), self.paginate_by))
        ctx.update(
            project=self.project,
            assessment=tier_assessment_current(project=self.project),
            filter=filterset,
            can_edit_risks=has_role(user, *RISK_WRITERS) and can_edit_risks(user, self.project),
        )
        return ctx


class RiskCreateView(ProjectMixin, FormView):
    allowed_roles = RISK_WRITERS
    writes = True
    template_name = "governance/risk_form.html"
    form_class = RiskForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.project, **kwargs)

    def form_valid(self, form):
        try:
            risk = services.risk_create(by=self.request.user, project=self.project, **form.service_fields())
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Risk “{risk.title}” added to the register.")
        return redirect("governance:risk", pk=risk.pk)


# --- one risk ---------------------------------------------------------------------------------------


class RiskMixin(RoleRequiredMixin):
    """Role first, then scope (a risk of a project the user may not see is a 404), then the object rule."""

    allowed_roles = ALL_ROLES
    writes = False

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            self.risk = self.get_risk(request, kwargs["pk"])
            if self.writes and not can_edit_risks(request.user, self.risk.project):
                raise PermissionDenied(NOT_YOUR_REGISTER)
        return super().dispatch(request, *args, **kwargs)

    def get_risk(self, request, pk: int) -> Risk:
        try:
            return risk_for_page(user=request.user, pk=pk)
        except Risk.DoesNotExist:
            raise Http404("No such risk, or you may not see it.") from None


def _detail_context(request, risk: Risk, **forms) -> dict:
    """Everything the risk page shows; `forms` replaces a blank form with a bound one that failed."""
    user = request.user
    can_edit = has_role(user, *RISK_WRITERS) and can_edit_risks(user, risk.project)
    mitigations = list(risk.mitigations.all())
    ctx = {
        "risk": risk,
        "project": risk.project,
        "mitigations": mitigations,
        "can_edit": can_edit,
        "can_read_audit_trail": has_role(user, *AUDIT_READERS),
        "needs_officer": risk.residual_level in scoring.ACCEPTANCE_NEEDS_RISK_OFFICER,
    }
    if can_edit:
        ctx["transition_form"] = forms.get("transition_form") or RiskTransitionForm(risk=risk)
        ctx["review_form"] = forms.get("review_form") or RiskReviewForm()
        ctx["mitigation_form"] = forms.get("mitigation_form") or MitigationForm(user=user)
        failed = forms.get("mitigation_status_form")
        for m in mitigations:
            m.status_form = failed if failed is not None and failed.mitigation_pk == m.pk else None
            m.status_form = m.status_form or MitigationStatusForm(mitigation=m)
    return ctx


class RiskDetailView(RiskMixin, TemplateView):
    template_name = "governance/risk_detail.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_detail_context(self.request, self.risk)}


class RiskUpdateView(RiskMixin, FormView):
    allowed_roles = RISK_WRITERS
    writes = True
    template_name = "governance/risk_form.html"
    form_class = RiskForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "risk": self.risk}

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.risk.project, risk=self.risk, **kwargs)

    def form_valid(self, form):
        try:
            services.risk_update(by=self.request.user, risk=self.risk, **form.service_fields())
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, "Risk updated.")
        return redirect("governance:risk", pk=self.risk.pk)


class RiskActionView(RiskMixin, View):
    """A form on the risk page that posts here: on success back to the page, on refusal the page again
    with the errors next to the fields (status 200, nothing written)."""

    allowed_roles = RISK_WRITERS
    writes = True
    http_method_names = ["post"]
    form_key = ""
    anchor = ""

    def make_form(self, data):
        raise NotImplementedError

    def perform(self, form) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                message = self.perform(form)
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, message)
                return redirect(reverse("governance:risk", kwargs={"pk": self.risk.pk}) + self.anchor)
        ctx = _detail_context(request, self.risk, **{self.form_key: form})
        return render(request, "governance/risk_detail.html", ctx)


class RiskTransitionView(RiskActionView):
    form_key = "transition_form"
    anchor = "#status"

    def make_form(self, data):
        return RiskTransitionForm(data, risk=self.risk)

    def perform(self, form) -> str:
        risk = services.risk_transition(by=self.request.user, risk=self.risk, **form.cleaned_data)
        return f"Risk {risk.get_status_display().lower()}."


class RiskReviewView(RiskActionView):
    form_key = "review_form"
    anchor = "#status"

    def make_form(self, data):
        return RiskReviewForm(data)

    def perform(self, form) -> str:
        risk = services.risk_review(by=self.request.user, risk=self.risk, **form.cleaned_data)
        return f"Review recorded; the next one is due on {risk.next_review_date:%Y-%m-%d}."


class MitigationCreateView(RiskActionView):
    form_key = "mitigation_form"
    anchor = "#mitigations"

    def make_form(self, data):
        return MitigationForm(data, user=self.request.user)

    def perform(self, form) -> str:
        mitigation = services.mitigation_create(by=self.request.user, risk=self.risk, **form.cleaned_data)
        return f"Mitigation “{mitigation.action}” added."


class MitigationStatusView(RiskActionView):
    """Change a mitigation's status; the URL names the mitigation, the page is its risk's."""

    form_key = "mitigation_status_form"
    anchor = "#mitigations"

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            try:
                self.mitigation = mitigations_for_user(user=request.user).get(pk=kwargs["pk"])
            except Mitigation.DoesNotExist:
                raise Http404("No such mitigation, or you may not see it.") from None
            kwargs = {**kwargs, "pk": self.mitigation.risk_id}
        return super().dispatch(request, *args, **kwargs)

    def make_form(self, data):
        form = MitigationStatusForm(data, mitigation=self.mitigation)
        form.mitigation_pk = self.mitigation.pk
        return form

    def perform(self, form) -> str:
        mitigation = services.mitigation_update(by=self.request.user, mitigation=self.mitigation, **form.cleaned_data)
        return f"Mitigation “{mitigation.action}” is now {mitigation.get_status_display().lower()}."


# --- exports ----------------------------------------------------------------------------------------


def _export_rows(qs):
    """One list per risk; every cell is made spreadsheet-safe by core.exports.export_cell."""
    for r in qs.iterator(chunk_size=500):
        yield [
            r.pk, r.project.name, r.project.team.name, r.project.risk_tier,
            r.title, r.category, " ".join(r.nist_functions), r.owner.username, r.status,
            r.likelihood, r.impact, r.inherent_score, r.inherent_level,
            scoring.explain(r.likelihood, r.impact),
            r.residual_likelihood, r.residual_impact, r.residual_score, r.residual_level,
            scoring.explain(r.residual_likelihood, r.residual_impact),
            r.next_review_date, r.review_overdue, r.last_reviewed_at,
            r.accepted_by.username if r.accepted_by else "",
            r.updated_at,
        ]  # fmt: skip
