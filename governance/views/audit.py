"""The audit trail page: every event the reader may see as a sentence linking to its subject, filtered,
newest first; the chain's state (its last verification) with an admin's button to verify it again; and
the export."""

from __future__ import annotations

import json
import tempfile
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from core.errors import DomainError
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import has_role

from ..audit.checkpoints import AuditKeyMissing, key_id
from ..audit.export import NothingToExport, export_bundle
from ..audit.filters import AuditEventFilterSet
from ..audit.selectors import AUDIT_READERS, audit_events_for_user
from ..audit.sentences import describe_events
from ..audit.verification import VERIFIERS, chain_state, verification_request

EXPORT_BATCH = 500


def _json(value) -> str | None:
    """A before/after change as the JSON it is stored as, so a spreadsheet shows what the chain hashed."""
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _batches(iterable, size: int):
    it = iter(iterable)
    while batch := list(islice(it, size)):
        yield batch


def _audit_key_id() -> str:
    try:
        return key_id()
    except AuditKeyMissing:
        return ""


def _chain_context(user) -> dict:
    return {"chain": chain_state(), "can_verify": has_role(user, *VERIFIERS)}


class AuditListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    allowed_roles = AUDIT_READERS
    template_name = "governance/audit_list.html"
    filterset_class = AuditEventFilterSet
    context_object_name = "events"
    export_stem = "audit"
    export_title = "Audit trail"
    export_header = (
        "seq", "occurred_at", "actor", "description", "subject_url", "action", "object_type", "object_id",
        "before", "after", "request_id", "task_id", "hash",
    )  # fmt: skip

    def get_queryset(self):
        return audit_events_for_user(user=self.request.user).order_by("-seq")

    def export_rows(self, qs):
        base = settings.KEEL_BASE_URL
        for batch in _batches(qs.iterator(chunk_size=EXPORT_BATCH), EXPORT_BATCH):
            for e, d in zip(batch, describe_events(batch), strict=True):
                yield [
                    e.seq, e.occurred_at, e.actor_repr, d.sentence, base + d.url if d.url else "", e.action,
                    e.object_type, e.object_id, _json(e.before), _json(e.after), e.request_id, e.task_id, e.hash,
                ]  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        events = list(ctx["events"])
        for event, described in zip(events, describe_events(events), strict=True):
            event.sentence, event.subject_url = described.sentence, described.url
        ctx.update(events=events, audit_key_id=_audit_key_id(), **_chain_context(self.request.user))
        return ctx


class AuditChainView(RoleRequiredMixin, TemplateView):
    """The chain's state alone: the audit page polls it (htmx) while a verification runs."""

    allowed_roles = AUDIT_READERS
    template_name = "governance/partials/_audit_chain.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_chain_context(self.request.user)}


class AuditVerifyView(RoleRequiredMixin, View):
    """An admin's "Verify the chain now": recorded, audited, and run by a worker."""

    allowed_roles = VERIFIERS
    http_method_names = ["post"]

    def post(self, request):
        try:
            verification_request(by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Verification of the audit chain queued; its result shows here when it ends.")
        return redirect("governance:audit")


class AuditBundleView(RoleRequiredMixin, View):
    """The whole trail as an offline-verifiable bundle (.zip): events, signed checkpoints, the audit public
    key and the stand-alone verifier, for those who may read the audit trail. Written to a temporary file,
    not memory, whatever the chain's length."""

    allowed_roles = AUDIT_READERS
    http_method_names = ["get"]

    def get(self, request):
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        try:
            export_bundle(target=spool, as_zip=True)
        except (NothingToExport, AuditKeyMissing) as exc:
            spool.close()
            return HttpResponse(str(exc), status=409 if isinstance(exc, NothingToExport) else 503,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        spool.seek(0)
        name = f"keel-audit-{timezone.now():%Y%m%d-%H%M%S}.zip"
        return FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
