"""The audit trail over the API: read-only, for the roles that may read it."""

from rest_framework import serializers, viewsets

from core.api.pagination import SeqCursorPagination
from core.api.rows import RowListMixin

from ..audit.filters import AuditEventFilterSet
from ..audit.selectors import AUDIT_READERS, audit_events_for_user
from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq", "occurred_at", "actor_id", "actor_repr", "action", "object_type", "object_id",
            "before", "after", "request_id", "task_id", "hash_alg", "prev_hash", "hash",
        ]  # fmt: skip
        read_only_fields = fields


class AuditEventViewSet(RowListMixin, viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first, cursor-paginated (stable while events keep arriving)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    pagination_class = SeqCursorPagination
    lookup_field = "seq"
    read_roles = AUDIT_READERS
    write_roles = ()

    def get_queryset(self):
        return audit_events_for_user(user=self.request.user)
