"""The audit trail page: every event the reader may see, filtered, newest first, and its export."""

from __future__ import annotations

import json

from django.views.generic import TemplateView

from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..audit.filters import AuditEventFilterSet
from ..audit.selectors import AUDIT_READERS, audit_events_for_user


def _json(value) -> str | None:
    """A before/after change as the JSON it is stored as, so a spreadsheet shows what the chain hashed."""
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


class AuditListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    allowed_roles = AUDIT_READERS
    template_name = "governance/audit_list.html"
    filterset_class = AuditEventFilterSet
    context_object_name = "events"
    export_stem = "audit"
    export_title = "Audit trail"
    export_header = (
        "seq", "occurred_at", "actor", "action", "object_type", "object_id", "before", "after", "request_id",
        "task_id", "hash",
    )  # fmt: skip

    def get_queryset(self):
        return audit_events_for_user(user=self.request.user).order_by("-seq")

    def export_rows(self, qs):
        for e in qs.iterator(chunk_size=500):
            yield [
                e.seq, e.occurred_at, e.actor_repr, e.action, e.object_type, e.object_id,
                _json(e.before), _json(e.after), e.request_id, e.task_id, e.hash,
            ]  # fmt: skip
