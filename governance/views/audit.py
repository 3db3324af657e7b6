from __future__ import annotations

from django.core.paginator import Paginator
from django.views.generic import TemplateView

from core.permissions import RoleRequiredMixin

from ..audit.filters import AuditEventFilterSet
from ..audit.selectors import AUDIT_READERS, audit_events_for_user


class AuditListView(RoleRequiredMixin, TemplateView):
    allowed_roles = AUDIT_READERS
    template_name = "governance/audit_list.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        filterset = AuditEventFilterSet(
            self.request.GET or None, queryset=audit_events_for_user(user=self.request.user)
        )
        if not filterset.is_bound:
            qs = filterset.queryset
        elif filterset.is_valid():
            qs = filterset.qs
        else:
            qs = filterset.queryset.none()  # a filter that cannot be applied shows nothing, not everything
        page = Paginator(qs.order_by("-seq"), self.paginate_by).get_page(self.request.GET.get("page"))
        params = self.request.GET.copy()
        params.pop("page", None)
        ctx.update(filter=filterset, page_obj=page, events=page.object_list, querystring=params.urlencode())
        return ctx
