"""The PII and compliance pages: the PII inventory, one dataset (fields, classifications with their
provenance, neighbours; classify and record compliance), a project's compliance tab (obligations,
evidence, coverage, the PII paths into its models), and the evidence file download. Thin: parse
input, call one service or selector; the refusals come from the services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from core import roles
from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import has_role
from projects.inventory.selectors import projects_for_user
from projects.models import AIProject

from ..compliance import charts, rules, selectors, services, suggestions, taxonomy
from ..compliance.filters import ClassificationFilterSet
from ..compliance.forms import ClassificationForm, DatasetComplianceForm, EvidenceForm
from ..models import Classification, Dataset, Evidence, Obligation, ObligationStatus

ALL_ROLES = roles.ALL_ROLES
EVIDENCE_GIVERS = ("Team Lead", "Risk Officer", "Compliance Officer", "Admin")


def _errors_text(exc) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


# --- the inventory ----------------------------------------------------------------------------------


class PIIInventoryView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Which datasets and fields carry what, filterable; every role reads it (datasets are organisation-wide)."""

    allowed_roles = ALL_ROLES
    template_name = "governance/compliance_inventory.html"
    filterset_class = ClassificationFilterSet
    export_stem = "pii-inventory"
    export_title = "PII inventory"
    export_header = (
        "dataset_namespace", "dataset", "field", "pii_kind", "gdpr_class", "origin", "derived_from", "asserted_by",
        "treatment", "verified", "hops",
    )  # fmt: skip

    def get_queryset(self):
        return selectors.classifications_inventory()

    def export_rows(self, qs):
        for c in qs.iterator(chunk_size=500):
            source = c.derived_from
            yield [
                c.dataset.namespace, c.dataset.name, c.field.name if c.field else "", c.pii_kind, c.gdpr_class,
                c.origin, f"{source.dataset.name}{'.' + source.field.name if source.field else ''}" if source else "",
                c.asserted_by.username if c.asserted_by else "", c.treatment, c.verified, c.hops,
            ]  # fmt: skip


# --- one dataset ------------------------------------------------------------------------------------


class DatasetMixin(RoleRequiredMixin):
    allowed_roles = ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            try:
                self.dataset = selectors.dataset_for_page(kwargs["pk"])
            except Dataset.DoesNotExist:
                raise Http404("No such dataset.") from None
        return super().dispatch(request, *args, **kwargs)


def _dataset_context(request, dataset: Dataset, **forms) -> dict:
    classifications = selectors.dataset_classifications(dataset)
    can_classify = has_role(request.user, *services.CLASSIFIERS)
    for c in classifications:
        c.path_text = selectors.path_text(c) if c.path else ""
    fields = selectors.dataset_fields(dataset)
    labelled = {c.field_id for c in classifications}
    for f in fields:  # the same marks as the DPO's workspace: labelled, suggested (to confirm), unclassified
        f.suggestion = None if f.pk in labelled else suggestions.suggest(f.name, f.suggested_pii_kind)
        f.suggestion_label = taxonomy.KINDS[f.suggestion[0]].label if f.suggestion else ""
        f.state = "labelled" if f.pk in labelled else ("suggested" if f.suggestion else "unclassified")
    ctx = {
        "dataset": dataset,
        "fields": fields,
        "classifications": classifications,
        "neighbours": selectors.dataset_neighbours(dataset),
        "can_classify": can_classify,
    }
    if can_classify:
        ctx["classify_form"] = forms.get("classify_form") or ClassificationForm(dataset=dataset)
        ctx["compliance_form"] = forms.get("compliance_form") or DatasetComplianceForm(
            initial={"legal_basis": dataset.legal_basis, "art9_condition": dataset.art9_condition,
                     "retention_days": dataset.retention_days, "owner": dataset.owner_id}
        )  # fmt: skip
    return ctx


class DatasetDetailView(DatasetMixin, TemplateView):
    template_name = "governance/compliance_dataset.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_dataset_context(self.request, self.dataset)}


class DatasetClassifyView(DatasetMixin, TemplateView):
    """POST: assert a PII kind on a field or on the dataset (risk and compliance officers, admins)."""

    allowed_roles = services.CLASSIFIERS
    template_name = "governance/compliance_dataset.html"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ClassificationForm(request.POST, dataset=self.dataset)
        if form.is_valid():
            try:
                root = services.classification_assert(
                    by=request.user, dataset=self.dataset, field=form.cleaned_data["field"],
                    pii_kind=form.cleaned_data["pii_kind"], note=form.cleaned_data["note"],
                )  # fmt: skip
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Classified as {root.get_pii_kind_display()}; propagated downstream.")
                return redirect("governance:dataset", pk=self.dataset.pk)
        ctx = _dataset_context(request, self.dataset, classify_form=form)
        return self.render_to_response(ctx)


class DatasetComplianceView(DatasetMixin, TemplateView):
    """POST: record the dataset's legal basis, Art. 9(2) condition, retention and owner."""

    allowed_roles = services.CLASSIFIERS
    template_name = "governance/compliance_dataset.html"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = DatasetComplianceForm(request.POST)
        if form.is_valid():
            try:
                services.dataset_compliance_update(by=request.user, dataset=self.dataset, **form.cleaned_data)
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Compliance record saved.")
                return redirect("governance:dataset", pk=self.dataset.pk)
        return self.render_to_response(_dataset_context(request, self.dataset, compliance_form=form))


class ClassificationRetractView(RoleRequiredMixin, View):
    allowed_roles = services.CLASSIFIERS
    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            classification = Classification.objects.get(pk=pk)
        except Classification.DoesNotExist:
            raise Http404("No such classification.") from None
        try:
            removed = services.classification_retract(by=request.user, classification=classification)
        except (ValidationError, DomainError) as exc:
            messages.error(request, _errors_text(exc))
        else:
            messages.success(request, f"Retracted, with what derived from it ({removed} label(s) removed).")
        return redirect("governance:dataset", pk=classification.dataset_id)


# --- a project's compliance tab ----------------------------------------------------------------------


class ProjectScopeMixin(RoleRequiredMixin):
    allowed_roles = ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            try:
                self.project = projects_for_user(user=request.user).select_related("team").get(slug=kwargs["slug"])
            except AIProject.DoesNotExist:
                raise Http404("No such project, or you may not see it.") from None
        return super().dispatch(request, *args, **kwargs)


def _compliance_context(request, project: AIProject, failed: dict | None = None) -> dict:
    obligations = selectors.obligations_for_project(project)
    can_give = has_role(request.user, *EVIDENCE_GIVERS) and services.can_give_evidence(request.user, project)
    failed = failed or {}
    for o in obligations:
        o.rule = rules.RULES_BY_ID.get(o.rule_id)
        o.evidence_list = list(o.evidence.all())
        for e in o.evidence_list:
            e.stale = e.facts_hash != o.facts_hash
        if can_give and o.status != ObligationStatus.NOT_APPLICABLE:
            o.form = failed.get(o.pk) or EvidenceForm(prefix=f"o{o.pk}")
    reaching = selectors.pii_reaching_project(project)
    for c in reaching:
        c.path_text = selectors.path_text(c)
    graph = charts.pii_lineage_graph(selectors.pii_paths(reaching))
    return {
        "project": project,
        "obligations": [o for o in obligations if o.status != ObligationStatus.NOT_APPLICABLE],
        "retired": [o for o in obligations if o.status == ObligationStatus.NOT_APPLICABLE],
        "coverage": selectors.compliance_coverage(project=project),
        "reaching": reaching,
        "graph": graph,
        "can_give_evidence": can_give,
    }


class ProjectComplianceView(ProjectScopeMixin, TemplateView):
    template_name = "governance/compliance_project.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_compliance_context(self.request, self.project)}


class EvidenceAddView(RoleRequiredMixin, TemplateView):
    """POST: give evidence (a link or a file) for one obligation; the page re-renders with errors."""

    allowed_roles = EVIDENCE_GIVERS
    template_name = "governance/compliance_project.html"
    http_method_names = ["post"]

    def post(self, request, pk):
        visible = projects_for_user(user=request.user).values("pk")
        try:
            obligation = Obligation.objects.select_related("project").get(pk=pk, project__in=visible)
        except Obligation.DoesNotExist:
            raise Http404("No such obligation, or you may not see its project.") from None
        if not services.can_give_evidence(request.user, obligation.project):
            raise PermissionDenied(services.NOT_YOUR_PROJECT)
        form = EvidenceForm(request.POST, request.FILES, prefix=f"o{obligation.pk}")
        if form.is_valid():
            try:
                services.evidence_add(by=request.user, obligation=obligation, **form.cleaned_data)
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Evidence given for {obligation.rule_id}.")
                return redirect("governance:project-compliance", slug=obligation.project.slug)
        ctx = _compliance_context(request, obligation.project, failed={obligation.pk: form})
        return self.render_to_response(ctx)


class EvidenceFileView(RoleRequiredMixin, View):
    """The uploaded file, to users who may see the obligation's project only (never a public URL)."""

    allowed_roles = ALL_ROLES
    http_method_names = ["get"]

    def get(self, request, pk):
        try:
            evidence = selectors.evidence_for_user(user=request.user).get(pk=pk)
        except Evidence.DoesNotExist:
            raise Http404("No such evidence, or you may not see its project.") from None
        if not evidence.file:
            raise Http404("This evidence is a link, not a file.")
        response = FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.file_name or None)
        response["X-Content-Type-Options"] = "nosniff"
        return response
