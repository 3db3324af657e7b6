from rest_framework import viewsets

from core.api.pagination import SeqCursorPagination

from ..audit.filters import AuditEventFilterSet
from ..audit.selectors import AUDIT_READERS, audit_events_for_user
from .serializers import AuditEventSerializer


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first, cursor-paginated (stable while events keep arriving)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    pagination_class = SeqCursorPagination
    lookup_field = "seq"
    read_roles = AUDIT_READERS
    write_roles = ()

    def get_queryset(self):
        return audit_events_for_user(user=self.request.user)
