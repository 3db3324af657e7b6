"""A person's notifications: the list (unread first), following one (marks it read), the unread badge the
navigation loads after the page (so no page pays for it), and the e-mail preferences per kind."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from core import roles
from core.permissions import RoleRequiredMixin

from ..models import EmailChoice, Notification, NotificationKind, NotificationPreference
from ..notifications import services

ALL_ROLES = roles.ALL_ROLES


class NotificationInboxView(RoleRequiredMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "governance/notification_list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        mine = Notification.objects.filter(recipient=self.request.user)
        ordered = mine.order_by(F("read_at").desc(nulls_first=True), "-created_at", "-id")
        page = Paginator(ordered, 50).get_page(self.request.GET.get("page"))
        ctx.update(page_obj=page, notifications=page.object_list,
                   unread=mine.filter(read_at__isnull=True).count(), querystring="")  # fmt: skip
        return ctx


class NotificationOpenView(RoleRequiredMixin, View):
    """Follow a notification to its page, marking it read on the way."""

    allowed_roles = ALL_ROLES

    def get(self, request, pk: int):
        note = get_object_or_404(Notification, pk=pk, recipient=request.user)
        services.notifications_mark_read(user=request.user, ids=[note.pk])
        safe = note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts={request.get_host()})
        return redirect(note.url if safe else "governance:notifications")


class NotificationReadAllView(RoleRequiredMixin, View):
    allowed_roles = ALL_ROLES
    http_method_names = ["post"]

    def post(self, request):
        done = services.notifications_mark_read(user=request.user)
        messages.success(request, f"{done} notification(s) marked read.")
        return redirect("governance:notifications")


class NotificationBadgeView(RoleRequiredMixin, View):
    """The navigation's unread count, fetched by htmx once the page has loaded."""

    allowed_roles = ALL_ROLES

    def get(self, request):
        unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
        if not unread:
            return HttpResponse("Notifications")
        return HttpResponse(
            format_html('Notifications <span class="badge unread" id="unread-count">{} unread</span>', unread)
        )


class PreferencesForm(forms.Form):
    def __init__(self, *args, current: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            initial = current.get(kind, settings.KEEL_NOTIFY_EMAIL_DEFAULT)
            self.fields[kind] = forms.ChoiceField(choices=EmailChoice.choices, label=label, initial=initial)


class NotificationPreferencesView(RoleRequiredMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "governance/notification_preferences.html"

    def current(self) -> dict[str, str]:
        return dict(NotificationPreference.objects.filter(user=self.request.user).values_list("kind", "email"))

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or PreferencesForm(current=self.current()),
        }

    def post(self, request):
        form = PreferencesForm(request.POST, current=self.current())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        changed = services.preferences_set(user=request.user, choices=form.cleaned_data)
        messages.success(request, f"Preferences saved ({changed} changed).")
        return redirect("governance:notification-preferences")
