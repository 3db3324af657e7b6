"""The DPO's workspace (/governance/pii/): what waits for the DPO, then the dataset catalogue with each
column's labels and where they came from; bulk classification of the selected columns; datasets
registered by hand or imported from a CSV data inventory. Thin: parse input, call one service or
selector; the refusals come from the services (a refused request changes nothing)."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from core import roles
from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import has_role

from ..compliance import bulk, catalogue, inventory, services, taxonomy
from ..compliance.forms import DatasetComplianceForm
from ..models import DatasetType


def _errors_text(exc) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


class BulkForm(forms.Form):
    pii_kind = forms.ChoiceField(choices=[("", "Choose a kind"), *taxonomy.CHOICES], required=False, label="PII kind")
    note = forms.CharField(max_length=300, required=False, label="Note (why)")


class CatalogueView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Every role reads the catalogue (datasets are organisation-wide); classifiers also act on it."""

    allowed_roles = roles.ALL_ROLES
    template_name = "governance/pii_workspace.html"
    filterset_class = catalogue.CatalogueFilterSet
    paginate_by = 20
    context_object_name = "datasets"
    export_stem = "dataset-catalogue"
    export_title = "Dataset catalogue"
    export_header = catalogue.EXPORT_HEADER

    def get_queryset(self):
        return catalogue.catalogue()

    def export_rows(self, qs):
        return catalogue.export_rows(qs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["datasets"] = catalogue.decorate(ctx["datasets"])
        can_classify = has_role(self.request.user, *services.CLASSIFIERS)
        ctx.update(
            can_classify=can_classify,
            waiting=catalogue.waiting(self.request.user),
            bulk_form=BulkForm() if can_classify else None,
            here=self.request.get_full_path(),
        )
        return ctx


def _back(request) -> str:
    """Where a bulk action returns: the catalogue page it came from (same filters and page)."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("governance:pii-inventory")


class BulkClassifyView(RoleRequiredMixin, View):
    """POST: apply a kind to the selected columns, or confirm their suggested kinds; all or nothing."""

    allowed_roles = services.CLASSIFIERS
    http_method_names = ["post"]

    def post(self, request):
        form = BulkForm(request.POST)
        field_ids = request.POST.getlist("fields")
        action = request.POST.get("action")
        form.is_valid()
        note = form.cleaned_data.get("note", "")
        try:
            if action == "confirm":
                result = bulk.suggestions_confirm(by=request.user, field_ids=field_ids, note=note)
                done = "Confirmed {n} suggested classification{s}"
            elif action == "classify":
                kind = request.POST.get("pii_kind", "")
                if not kind:
                    raise ValidationError({"pii_kind": ["Choose the PII kind to apply to the selected columns."]})
                result = bulk.fields_classify(by=request.user, field_ids=field_ids, pii_kind=kind, note=note)
                done = "Classified {n} column{s}"
            else:
                raise ValidationError({"action": ["Unknown action: apply a kind or confirm the suggestions."]})
        except (ValidationError, DomainError) as exc:
            messages.error(request, f"Nothing was changed. {_errors_text(exc)}")
        else:
            n = result.count
            messages.success(
                request,
                done.format(n=n, s="" if n == 1 else "s")
                + f" in {len(result.datasets)} dataset{'' if len(result.datasets) == 1 else 's'}; "
                f"propagated downstream ({result.propagated['created']} label(s) derived).",
            )
        return redirect(_back(request))


# --- registering datasets by hand, importing an inventory --------------------------------------------


class RegisterForm(forms.Form):
    namespace = forms.CharField(
        max_length=500, label="Namespace", help_text="Where it lives, e.g. postgres://crm-db:5432"
    )
    name = forms.CharField(max_length=1000, label="Name", help_text="e.g. crm.public.customers")
    dataset_type = forms.ChoiceField(choices=[("", "Not stated"), *DatasetType.choices], required=False, label="Type")
    # max_length keeps every line under csv's field size limit, whose csv.Error would be a 500
    columns = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, label="Columns", max_length=100_000,
        help_text="One per line: name, type, description (type and description optional).",
    )  # fmt: skip
    owner = forms.ModelChoiceField(queryset=None, required=False, label="Owner")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = DatasetComplianceForm().fields["owner"].queryset

    def clean_columns(self):
        out = []
        for n, values in enumerate(
            csv.reader(self.cleaned_data["columns"].splitlines(), skipinitialspace=True), start=1
        ):
            values = [v.strip() for v in values]
            if not any(values):
                continue
            if not values[0]:
                raise forms.ValidationError(f"Line {n}: the column's name is empty.")
            if len(values) > 3:
                values = [values[0], values[1], ",".join(values[2:])]
            out.append(tuple(values + [""] * (3 - len(values))))
        return out


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV data inventory")
    apply_kinds = forms.BooleanField(
        required=False, label="Apply the pii_kind column",
        help_text="Unticked, each pii_kind is a suggestion to confirm; ticked, it is recorded as your assertion.",
    )  # fmt: skip


class InventoryPageMixin(RoleRequiredMixin):
    allowed_roles = services.CLASSIFIERS
    template_name = "governance/pii_register.html"

    def page(self, request, *, register=None, upload=None, errors=()):
        ctx = {
            "register_form": register or RegisterForm(),
            "import_form": upload or ImportForm(),
            "import_errors": list(errors),
            "columns": inventory.COLUMNS,
            "template_rows": inventory.TEMPLATE_ROWS,
            "max_rows": inventory.MAX_ROWS,
        }
        return self.render_to_response(ctx)


class InventoryView(InventoryPageMixin, TemplateView):
    def get(self, request, *args, **kwargs):
        return self.page(request)


class RegisterView(InventoryPageMixin, TemplateView):
    http_method_names = ["post"]

    def post(self, request):
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = inventory.dataset_register(
                    by=request.user, namespace=data["namespace"], name=data["name"],
                    dataset_type=data["dataset_type"], columns=data["columns"], owner=data["owner"],
                )  # fmt: skip
            except inventory.InventoryRefused as exc:
                for error in exc.errors:
                    form.add_error(None, error)
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                what = "Registered" if result.datasets_created else "Updated"
                messages.success(request, f"{what} {data['name']}: {result.fields_created} column(s) added.")
                return redirect(_catalogue_search(data["name"]))
        return self.page(request, register=form)


def _catalogue_search(q: str) -> str:
    return reverse("governance:pii-inventory") + "?" + urlencode({"q": q})


class ImportView(InventoryPageMixin, TemplateView):
    http_method_names = ["post"]

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(request, upload=form)
        upload = form.cleaned_data["file"]
        try:
            if upload.size > inventory.MAX_BYTES:
                raise inventory.InventoryRefused(
                    [inventory.TOO_BIG.format(size=upload.size, limit=inventory.MAX_BYTES)]
                )
            rows = inventory.inventory_parse(upload.read())
            result = inventory.inventory_import(
                by=request.user, rows=rows, apply_kinds=form.cleaned_data["apply_kinds"], source=upload.name[:200]
            )
        except inventory.InventoryRefused as exc:
            return self.page(request, upload=form, errors=exc.errors)
        except (ValidationError, DomainError) as exc:
            return self.page(request, upload=form, errors=[_errors_text(exc)])
        messages.success(
            request,
            f"Imported {upload.name}: {result.datasets_created} dataset(s) and {result.fields_created} column(s) "
            f"added, {result.fields_updated} column(s) completed, {result.owners_set} owner(s) set, "
            f"{result.asserted} classification(s) applied, {result.suggested} suggestion(s) to confirm.",
        )
        return redirect(reverse("governance:pii-inventory") + "?pii=suggested" if result.suggested else
                        reverse("governance:pii-inventory"))  # fmt: skip


class InventoryTemplateView(RoleRequiredMixin, View):
    """The CSV template of a data inventory, with example rows."""

    allowed_roles = roles.ALL_ROLES
    http_method_names = ["get"]

    def get(self, request):
        response = HttpResponse(inventory.template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="keel-data-inventory-template.csv"'
        return response
