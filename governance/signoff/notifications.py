"""Email about sign-offs: to reviewers when a request waits for their role, to the requester when
someone decides, and to everyone concerned when an approval stops being valid.

Called after commit with ids (so a rolled-back request mails nobody). A mail server that is down
is logged, never raised: the decision stands whether or not the mail goes out.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.urls import reverse

from ..models import SignOffDecision, SignOffRequest, Verdict

log = logging.getLogger(__name__)


def _link(request: SignOffRequest) -> str:
    return settings.KEEL_BASE_URL.rstrip("/") + reverse("governance:signoff", kwargs={"pk": request.pk})


def _label(request: SignOffRequest) -> str:
    f = request.fingerprint
    return f"{f.get('model')} v{f.get('version')} ({request.project.name})"


def _emails(users) -> list[str]:
    return sorted({u.email for u in users if u is not None and u.is_active and u.email})


def _send(subject: str, body: str, recipients: list[str]) -> int:
    if not recipients:
        return 0
    # One message per recipient: nobody learns who else was told.
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:
        log.exception("Could not send sign-off mail %r to %d recipients", subject, len(recipients))
        return 0


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
    return _send(f"[Keel] Sign-off requested: {_label(request)}", body, _emails(reviewers_for(request)))


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
    recipients = _emails([request.requested_by, request.project.owner])
    return _send(f"[Keel] Sign-off {request.get_status_display().lower()}: {_label(request)}", body, recipients)


def invalidated(request_pk: int, codes: list[str]) -> int:
    request = SignOffRequest.objects.select_related("project__owner", "requested_by").get(pk=request_pk)
    approvers = [d.reviewer for d in request.decisions.filter(verdict=Verdict.APPROVE).select_related("reviewer")]
    body = (
        f"The sign-off of {_label(request)} is no longer valid ({request.get_status_display().lower()}).\n\n"
        f"{request.status_reason}\n\nThe deployment gate now denies this version until a new sign-off is "
        f"approved: {_link(request)}\n"
    )
    recipients = _emails([request.requested_by, request.project.owner, *approvers])
    subject = f"[Keel] Sign-off {request.get_status_display().lower()}: {_label(request)}"
    return _send(subject, body, recipients)
