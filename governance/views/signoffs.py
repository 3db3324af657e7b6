"""The sign-off pages: the review queue (and every request in scope), one request with its evidence
pack and the decision form, and a project's sign-off history with the form that asks for one.

Thin: the services decide who may request, decide or withdraw (separation of duties, closed
requests) and audit their refusals; a refusal is shown on the page it came from and changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from core import roles
from core.errors import DomainError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import has_role, user_roles
from projects.models import RegisteredModel
from projects.permissions import can_change_project

from ..audit.selectors import AUDIT_READERS
from ..compliance.selectors import compliance_coverage, pii_summary_for_version
from ..models import SignOffRequest, SignOffStatus, Verdict
from ..risks.selectors import tier_assessment_current
from ..signoff import fingerprint as fp
from ..signoff import services, thresholds
from ..signoff.champions import comparisons
from ..signoff.eligibility import Eligibility, Refusal, approvals_outstanding, decision_eligibility
from ..signoff.evidence import signoff_warnings, version_evidence
from ..signoff.filters import SignOffFilterSet
from ..signoff.forms import SignOffDecisionForm, SignOffRequestForm, SignOffWithdrawForm
from ..signoff.permissions import REQUESTERS, REVIEWERS
from ..signoff.selectors import (
    review_queue_for_user,
    signoff_evidence,
    signoff_for_page,
    signoff_requestable_versions,
    signoff_requests_for_project,
    signoffs_for_user,
)
from .risks import ProjectMixin

ALL_ROLES = roles.ALL_ROLES
QUEUE, ALL = "queue", "all"

# Why the decision form is not offered to someone who can see the request (shorter than the
# service's refusals where the page shows more context; the same words where it does not).
NOT_PENDING_NOTE = "This request is {status}: it takes no more decisions."
DECIDED_NOTE = "You already {verdict} this request as {role}; one person fills one role."


# --- shaping ----------------------------------------------------------------------------------------


def _missing(signoff: SignOffRequest) -> list[str]:
    """What a pending request still waits for: roles nobody has approved in yet, then extra approvers
    (from the prefetched decisions)."""
    return approvals_outstanding(signoff, list(signoff.decisions.all()))


def status_reason(signoff: SignOffRequest) -> str:
    """Why the request is where it is: the rejecting reviewer's comment, or the recorded reason."""
    if signoff.status == SignOffStatus.REJECTED:
        rejection = next((d for d in signoff.decisions.all() if d.verdict == Verdict.REJECT), None)
        if rejection is not None:
            return rejection.comment
    return signoff.status_reason


def _with_missing(rows):
    rows = list(rows)
    for row in rows:
        row.missing_roles = _missing(row) if row.status == SignOffStatus.PENDING else []
        row.reason = status_reason(row)
    return rows


def _eligibility(user, signoff: SignOffRequest) -> Eligibility:
    """The one eligibility rule, fed from the prefetched decisions (the service has the last word)."""
    return decision_eligibility(
        request=signoff, user_id=user.pk, roles=user_roles(user), decisions=list(signoff.decisions.all())
    )


def _decide_note(answer: Eligibility, signoff: SignOffRequest) -> str:
    """Why the decision form is not offered, in the page's words."""
    if answer.refusal is None:
        return ""
    if answer.refusal == Refusal.NOT_PENDING:
        return NOT_PENDING_NOTE.format(status=signoff.get_status_display().lower())
    if not answer.is_reviewer:
        return ""  # not a reviewer at all: nothing to explain
    if answer.refusal == Refusal.REQUESTER:
        return services.SELF_REVIEW
    if answer.refusal == Refusal.AUTHOR:
        return services.AUTHOR_REVIEW
    if answer.refusal == Refusal.NOT_A_REVIEWER:
        return services.NOT_A_REVIEWER.format(roles=" or ".join(signoff.policy.required_roles) or "reviewer")
    earlier = answer.earlier
    return DECIDED_NOTE.format(
        verdict="approved" if earlier.verdict == Verdict.APPROVE else "rejected", role=earlier.role
    )


def _decide_context(user, signoff: SignOffRequest) -> dict:
    """Whether this user may decide now, in which roles, and if not, why not."""
    answer = _eligibility(user, signoff)
    return {"can_decide": answer.may_decide, "decide_roles": answer.held, "decide_note": _decide_note(answer, signoff)}


def can_withdraw(user, signoff: SignOffRequest) -> bool:
    return (
        signoff.is_pending
        and has_role(user, *REQUESTERS)
        and (user.pk == signoff.requested_by_id or can_change_project(user, signoff.project))
    )


def _detail_context(request, signoff: SignOffRequest, *, decision_form=None, withdraw_form=None, refusal="") -> dict:
    """Everything the request page shows; a failed form replaces the blank one."""
    user = request.user
    version = signoff.model_version
    current = fp.compute(version=version, project=signoff.project, policy=signoff.policy)
    state = _decide_context(user, signoff)
    evidence = signoff_evidence(signoff=signoff)
    coverage = compliance_coverage(project=signoff.project)
    ctx = {
        "signoff": signoff,
        "project": signoff.project,
        "version": version,
        "model": version.registered_model,
        "registry": version.registered_model.registry,
        **version_evidence(version),
        # The project's open problems, said on the decision form (pending requests only).
        "warnings": signoff_warnings(project=signoff.project, risks=evidence["risks"], coverage=coverage)
        if signoff.is_pending
        else [],
        "decisions": list(signoff.decisions.all()),
        "missing_roles": _missing(signoff) if signoff.is_pending else [],
        "reason": status_reason(signoff),
        "fingerprint": signoff.fingerprint,
        "fingerprint_changes": [text for _, text in fp.changes(signoff.fingerprint, current)],
        "refusal": refusal,
        "can_read_audit_trail": has_role(user, *AUDIT_READERS),
        **evidence,
        # Which personal data reached this version, by which path, and how far its obligations are met.
        "pii": pii_summary_for_version(version),
        "coverage": coverage,
        # The tier's metric requirements against the version's metrics, and the model's champion/challenger.
        "metric_results": thresholds.version_results(version, signoff.project.risk_tier),
        "version_metrics": list(version.metric_values.all()),
        "comparisons": comparisons(RegisteredModel.objects.filter(pk=version.registered_model_id)),
        "production_aliases": settings.KEEL_PRODUCTION_ALIASES,
        **state,
    }
    if state["can_decide"]:
        ctx["decision_form"] = decision_form or SignOffDecisionForm(roles=state["decide_roles"])
    if can_withdraw(user, signoff):
        ctx["withdraw_form"] = withdraw_form or SignOffWithdrawForm()
    return ctx


def _page(request, qs, per_page: int) -> dict:
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return {"page_obj": page, "signoffs": _with_missing(page.object_list), "querystring": params.urlencode()}


# --- the queue and the list -------------------------------------------------------------------------


class SignOffListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Reviewers land on what waits for them, oldest first; the other tab lists every request in scope,
    filtered, and exports it."""

    allowed_roles = ALL_ROLES
    template_name = "governance/signoff_list.html"
    paginate_by = 25
    filterset_class = SignOffFilterSet
    context_object_name = "signoffs"
    export_stem = "signoffs"
    export_title = "Sign-offs"
    export_header = (
        "id", "project", "team", "model", "version", "tier", "status", "status_reason", "requested_by",
        "requested_at", "decided_at", "valid_until", "decisions",
    )  # fmt: skip

    def get_queryset(self):
        return signoffs_for_user(user=self.request.user).order_by("-requested_at", "-id")

    def export_rows(self, qs):
        for s in qs.iterator(chunk_size=500):
            decisions = "; ".join(f"{d.role}: {d.verdict} by {d.reviewer.username}" for d in s.decisions.all())
            yield [
                s.pk, s.project.name, s.project.team.name, s.fingerprint.get("model"), s.fingerprint.get("version"),
                s.policy.tier, s.status, s.status_reason, s.requested_by.username, s.requested_at, s.decided_at,
                s.valid_until, decisions,
            ]  # fmt: skip

    def get_context_data(self, **kwargs):
        user = self.request.user
        is_reviewer = has_role(user, *REVIEWERS)
        scoped = self.filterset.queryset
        filtered = any(v for name in self.filterset.form.fields for v in self.request.GET.getlist(name))
        tab = self.request.GET.get("tab")
        if tab not in (QUEUE, ALL):
            # The filter form does not carry the tab: filters mean the list of all requests.
            tab = QUEUE if is_reviewer and not filtered else ALL
        if tab == QUEUE:
            # The queue is not the filtered list: skip the list mixin's page and paginate the queue.
            ctx = super(FilteredListMixin, self).get_context_data(**kwargs)
            queue = review_queue_for_user(user=user)
            ctx.update(_page(self.request, queue, self.paginate_by), filter=self.filterset)
            ctx["queue_count"] = ctx["page_obj"].paginator.count
            ctx["all_count"] = scoped.count()
        else:
            ctx = super().get_context_data(**kwargs)
            ctx["signoffs"] = _with_missing(ctx["signoffs"])
            ctx["queue_count"] = review_queue_for_user(user=user).count()
            ctx["all_count"] = ctx["page_obj"].paginator.count if not filtered else scoped.count()
        ctx.update(tab=tab, is_reviewer=is_reviewer, filtered=filtered)
        return ctx


# --- one request ------------------------------------------------------------------------------------


class SignOffMixin(RoleRequiredMixin):
    """Role first (anonymous → login, no role → 403), then scope (a request of a project the user may
    not see is a 404); the services apply the rules of who may decide or withdraw."""

    allowed_roles = ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if has_role(request.user, *self.allowed_roles):
            try:
                self.signoff = signoff_for_page(user=request.user, pk=kwargs["pk"])
            except SignOffRequest.DoesNotExist:
                raise Http404("No such sign-off request, or you may not see it.") from None
        return super().dispatch(request, *args, **kwargs)

    def refused(self, request, **forms):
        """The request page again, with the refusal; status 200. Read afresh: a refused approval of
        evidence that moved has invalidated the request."""
        self.signoff = signoff_for_page(user=request.user, pk=self.signoff.pk)
        return render(request, "governance/signoff_detail.html", _detail_context(request, self.signoff, **forms))


class SignOffDetailView(SignOffMixin, TemplateView):
    template_name = "governance/signoff_detail.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_detail_context(self.request, self.signoff)}


def _decided_message(decision) -> str:
    signoff = decision.request
    label = f"{signoff.fingerprint.get('model')} v{signoff.fingerprint.get('version')}"
    if decision.verdict == Verdict.REJECT:
        return f"Sign-off #{signoff.pk} rejected: the deployment gate denies {label}."
    if decision.verdict == Verdict.REQUEST_CHANGES:
        return f"Your request for changes to sign-off #{signoff.pk} is recorded; the requester has been told."
    if signoff.status == SignOffStatus.APPROVED:
        return f"Sign-off #{signoff.pk} approved: the deployment gate now allows {label} to production."
    waiting = ", ".join(approvals_outstanding(signoff, list(signoff.decisions.all())))
    return f"Your approval as {decision.role} is recorded; sign-off #{signoff.pk} still waits for: {waiting}."


class SignOffDecideView(SignOffMixin, View):
    allowed_roles = REVIEWERS
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        held = _eligibility(request.user, self.signoff).held
        form = SignOffDecisionForm(request.POST, roles=held)
        if not form.is_valid():
            return self.refused(request, decision_form=form)
        try:
            decision = services.signoff_decide(
                by=request.user,
                request=self.signoff,
                verdict=form.cleaned_data["verdict"],
                comment=form.cleaned_data["comment"],
                role=form.cleaned_data.get("role") or None,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.refused(request, decision_form=form)
        except DomainError as exc:
            # Separation of duties, a closed request, a filled role: said at the top of the page.
            return self.refused(request, decision_form=form, refusal=exc.message)
        messages.success(request, _decided_message(decision))
        return redirect("governance:signoff", pk=self.signoff.pk)


class SignOffWithdrawView(SignOffMixin, View):
    allowed_roles = REQUESTERS
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = SignOffWithdrawForm(request.POST)
        if not form.is_valid():
            return self.refused(request, withdraw_form=form)
        try:
            services.signoff_withdraw(by=request.user, request=self.signoff, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.refused(request, withdraw_form=form)
        except DomainError as exc:
            return self.refused(request, withdraw_form=form, refusal=exc.message)
        messages.success(request, f"Sign-off #{self.signoff.pk} withdrawn.")
        return redirect("governance:signoff", pk=self.signoff.pk)


# --- a project's sign-offs --------------------------------------------------------------------------


def _project_context(request, project, *, form=None) -> dict:
    user = request.user
    assessment = tier_assessment_current(project=project)
    page = Paginator(signoff_requests_for_project(user=user, project=project), 25).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "project": project,
        "assessment": assessment,
        "policy": services.current_policy(assessment.tier) if assessment else None,
        "page_obj": page,
        "signoffs": _with_missing(page.object_list),
        "querystring": params.urlencode(),
        "can_request": has_role(user, *REQUESTERS) and can_change_project(user, project),
    }
    if ctx["can_request"] or form is not None:  # a refused form is shown with its reason
        ctx["form"] = form or SignOffRequestForm(versions=signoff_requestable_versions(project=project))
        ctx["has_versions"] = ctx["form"].fields["version"].queryset.exists()
    return ctx


class ProjectSignOffListView(ProjectMixin, TemplateView):
    """A project's sign-off tab: its history, newest first, and the form that asks for a new one."""

    template_name = "governance/signoff_project.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_project_context(self.request, self.project)}


class SignOffRequestCreateView(ProjectMixin, View):
    """Posted from the project's sign-off tab; a refusal shows that tab again with the reason."""

    allowed_roles = REQUESTERS
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = SignOffRequestForm(request.POST, versions=signoff_requestable_versions(project=self.project))
        if form.is_valid():
            try:
                signoff = services.signoff_request(
                    by=request.user,
                    version=form.cleaned_data["version"],
                    justification=form.cleaned_data["justification"],
                )
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                roles_needed = " and ".join(signoff.policy.required_roles)
                messages.success(
                    request,
                    f"Sign-off #{signoff.pk} requested for {signoff.fingerprint['model']} "
                    f"v{signoff.fingerprint['version']}: it waits for approval by {roles_needed}.",
                )
                return redirect("governance:signoff", pk=signoff.pk)
        ctx = _project_context(request, self.project, form=form)
        # Shown with its form, so the tab's links and current-page marker work as on a GET.
        return render(request, "governance/signoff_project.html", ctx)
