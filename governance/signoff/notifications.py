"""Telling people about sign-offs: reviewers when a request waits for their role, the requester when
someone decides, and everyone concerned when an approval stops being valid.

Called after commit with ids (so a rolled-back request tells nobody). Each person gets an in-app
notification, and an e-mail as their preferences say; the worker sends the mail (notifications/delivery.py),
so a mail server that is down delays it and never undoes the decision.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from ..models import NotificationKind, SignOffDecision, SignOffRequest, Verdict
from ..notifications.services import notify


def _link(request: SignOffRequest) -> str:
    return settings.KEEL_BASE_URL.rstrip("/") + reverse("governance:signoff", kwargs={"pk": request.pk})


def _label(request: SignOffRequest) -> str:
    f = request.fingerprint
    return f"{f.get('model')} v{f.get('version')} ({request.project.name})"


def _tell(kind: str, subject: str, body: str, users, request: SignOffRequest, key: str) -> int:
    """Each person once per key; returns how many e-mails were queued (one per recipient: nobody learns
    who else was told)."""
    url = reverse("governance:signoff", kwargs={"pk": request.pk})
    made = notify(kind=kind, users=users, title=subject, body=body, url=url, key=key)
    return sum(1 for d in made if d.email)


def reviewers_for(request: SignOffRequest):
    User = get_user_model()
    excluded = {request.requested_by_id, request.version_author_id}
    return (
        User.objects.filter(is_active=True, groups__name__in=request.policy.required_roles)
        .exclude(pk__in=[pk for pk in excluded if pk])
        .distinct()
    )


def requested(request_pk: int) -> int:
    request = SignOffRequest.objects.select_related("project", "policy", "requested_by").get(pk=request_pk)
    roles = " and ".join(request.policy.required_roles)
    body = (
        f"{request.requested_by.get_full_name() or request.requested_by.get_username()} asks for sign-off of "
        f"{_label(request)} for production.\n\nThis {request.policy.get_tier_display().lower()} system needs "
        f"approval by: {roles}.\n\nReview the evidence and decide: {_link(request)}\n"
    )
    subject = f"Sign-off requested: {_label(request)}"
    return _tell(NotificationKind.SIGNOFF_REQUESTED, subject, body, reviewers_for(request), request,
                 key=f"signoff:{request.pk}:requested")  # fmt: skip


def decided(decision_pk: int) -> int:
    decision = SignOffDecision.objects.select_related(
        "request__project__owner", "request__requested_by", "request__policy", "reviewer"
    ).get(pk=decision_pk)
    request = decision.request
    verdict = {Verdict.APPROVE: "approved", Verdict.REJECT: "rejected", Verdict.REQUEST_CHANGES: "asked for changes to"}
    body = (
        f"{decision.reviewer.get_full_name() or decision.reviewer.get_username()} ({decision.role}) "
        f"{verdict[decision.verdict]} the sign-off of {_label(request)}.\n"
        + (f"\nComment: {decision.comment}\n" if decision.comment else "")
        + f"\nThe request is now {request.get_status_display().lower()}: {_link(request)}\n"
    )
    subject = f"Sign-off {request.get_status_display().lower()}: {_label(request)}"
    return _tell(NotificationKind.SIGNOFF_DECIDED, subject, body, [request.requested_by, request.project.owner],
                 request, key=f"signoff-decision:{decision.pk}")  # fmt: skip


def invalidated(request_pk: int, codes: list[str]) -> int:
    request = SignOffRequest.objects.select_related("project__owner", "requested_by").get(pk=request_pk)
    approvers = [d.reviewer for d in request.decisions.filter(verdict=Verdict.APPROVE).select_related("reviewer")]
    body = (
        f"The sign-off of {_label(request)} is no longer valid ({request.get_status_display().lower()}).\n\n"
        f"{request.status_reason}\n\nThe deployment gate now denies this version until a new sign-off is "
        f"approved: {_link(request)}\n"
    )
    subject = f"Sign-off {request.get_status_display().lower()}: {_label(request)}"
    return _tell(NotificationKind.SIGNOFF_INVALIDATED, subject, body,
                 [request.requested_by, request.project.owner, *approvers], request,
                 key=f"signoff:{request.pk}:{request.status}")  # fmt: skip
