"""Who hears about what: each governance event's recipients, its words and its link; the daily reminders
and digests. Run by the worker (governance.tasks), never in a request."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from core.roles import Role

from ..findings.subjects import finding_subject
from ..models import (
    CorrectiveAction,
    Delivery,
    EmailChoice,
    Finding,
    FindingKind,
    Incident,
    Notification,
    NotificationKind,
    NotificationPreference,
    Severity,
    SignOffRequest,
    SignOffStatus,
)
from .services import notify

User = get_user_model()
LOUD_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)
# A breached or stale monitoring signal is for the risk officers whatever its severity.
MONITORING_KINDS = (FindingKind.SIGNAL_BREACHED, FindingKind.SIGNAL_STALE)


def _with_roles(*roles: str):
    return User.objects.filter(is_active=True, groups__name__in=roles).distinct()


def finding_opened(finding_id: int) -> int:
    """The assignee and the project's owner and team lead hear of every finding of their project; risk and
    compliance officers of the high and critical ones."""
    finding = Finding.objects.select_related("project__team__lead", "project__owner", "assignee").filter(
        pk=finding_id
    ).first()  # fmt: skip
    if finding is None or finding.resolved_at is not None:
        return 0
    users = [finding.assignee]
    if finding.project:
        users += [finding.project.owner, finding.project.team.lead]
    if finding.severity in LOUD_SEVERITIES or finding.kind in MONITORING_KINDS:
        users += list(_with_roles(Role.RISK_OFFICER, Role.COMPLIANCE))
    where = f" ({finding.project.name})" if finding.project and finding.project.name not in finding.title else ""
    title = f"{finding.get_severity_display()} finding: {finding.title}{where}"
    # A monitoring finding leads straight to the signal's chart (its subject); others to the finding.
    subject_url = finding_subject(finding).url if finding.kind in MONITORING_KINDS else None
    url = subject_url or reverse("governance:finding", kwargs={"pk": finding.pk})
    with transaction.atomic():
        return len(notify(kind=NotificationKind.FINDING_OPENED, users=users, title=title, body=finding.detail,
                          url=url, key=f"finding:{finding.pk}"))  # fmt: skip


def incident_opened(incident_id: int) -> int:
    """Risk and compliance officers and the affected teams' leads hear of each incident when it opens, and
    again when it is found serious (with its reporting deadline)."""
    incident = Incident.objects.prefetch_related("projects__team__lead").filter(pk=incident_id).first()
    if incident is None:
        return 0
    users = [p.team.lead for p in incident.projects.all()] + list(_with_roles(Role.RISK_OFFICER, Role.COMPLIANCE))
    names = ", ".join(p.name for p in incident.projects.all())
    if incident.is_serious:
        title, key = f"Serious incident: {incident.title} ({names})", f"incident:{incident.pk}:serious"
        due = incident.report_due_at.strftime("%Y-%m-%d %H:%M UTC") if incident.report_due_at else "unknown"
        body = f"{incident.get_seriousness_display()}. Report to the authority by {due}. {incident.report_rule}."
    else:
        title, key = f"Incident opened: {incident.title} ({names})", f"incident:{incident.pk}:opened"
        body = incident.description
    url = reverse("governance:incident", kwargs={"pk": incident.pk})
    with transaction.atomic():
        return len(notify(kind=NotificationKind.INCIDENT_OPENED, users=users, title=title, body=body, url=url, key=key))


def findings_opened(finding_ids: list[int]) -> int:
    """finding_opened for each of the findings one rule opened at once (findings/services.findings_open)."""
    return sum(finding_opened(pk) for pk in finding_ids)


# "finding_opened" (one id) is what services queued before findings_open; tasks still queued from then run.
EVENTS = {"finding_opened": finding_opened, "findings_opened": findings_opened, "incident_opened": incident_opened}


def _overdue_by_person(today: dt.date) -> dict[int, list[str]]:
    """Each person's reminder lines, from three aggregate reads whatever the number of people: overdue
    findings by assignee, overdue corrective actions by owner, and sign-offs waiting over a day by the role
    they wait for (each reviewer holding the role, other than the requester)."""
    lines: dict[int, list[str]] = {}
    findings = (Finding.objects.filter(resolved_at__isnull=True, due_at__lt=timezone.now(), assignee__isnull=False)
                .values("assignee").annotate(n=Count("pk")).values_list("assignee", "n"))  # fmt: skip
    for user_id, n in findings:
        lines.setdefault(user_id, []).append(f"{n} finding(s) assigned to you are overdue.")
    actions = (CorrectiveAction.objects.filter(done_at__isnull=True, due_on__lt=today)
               .values("owner").annotate(n=Count("pk")).values_list("owner", "n"))  # fmt: skip
    for user_id, n in actions:
        lines.setdefault(user_id, []).append(f"{n} corrective action(s) you own are overdue.")
    waiting = SignOffRequest.objects.filter(
        status=SignOffStatus.PENDING, requested_at__lt=timezone.now() - dt.timedelta(days=1)
    ).select_related("policy")
    reviewers: dict[str, set[int]] = {}
    for role, user_id in User.groups.through.objects.filter(user__is_active=True).values_list("group__name", "user_id"):
        reviewers.setdefault(role, set()).add(user_id)
    counts: dict[int, int] = {}
    for request in waiting:
        for user_id in set().union(*(reviewers.get(r, set()) for r in request.policy.required_roles)):
            if user_id != request.requested_by_id:
                counts[user_id] = counts.get(user_id, 0) + 1
    for user_id, n in counts.items():
        lines.setdefault(user_id, []).append(f"{n} sign-off request(s) have waited more than a day for your role.")
    return lines


def send_reminders(today: dt.date | None = None) -> int:
    """Daily: one reminder per person with something overdue; the day's key makes a second run harmless."""
    today = today or timezone.localdate()
    lines = _overdue_by_person(today)
    people = User.objects.filter(pk__in=lines, is_active=True, groups__name__in=Role.values).distinct()
    with transaction.atomic():
        for user in people:
            notify(kind=NotificationKind.REMINDER, users=[user], title=f"Overdue in Keel on {today:%Y-%m-%d}",
                   body="\n".join(lines[user.pk]), url=reverse("home"), key=f"reminder:{today}",
                   channels=False)  # fmt: skip
    return len(people)


def send_digests(now: dt.datetime | None = None) -> int:
    """Daily: each person who chose the digest for some kinds gets one e-mail with what they have not
    read of those kinds since the last digest; each notification goes in one digest at most."""
    now = now or timezone.now()
    digest_kinds: dict[int, set[str]] = {}
    for user_id, kind in NotificationPreference.objects.filter(email=EmailChoice.DIGEST).values_list("user_id", "kind"):
        digest_kinds.setdefault(user_id, set()).add(kind)
    if settings.KEEL_NOTIFY_EMAIL_DEFAULT == EmailChoice.DIGEST:
        chosen = set(NotificationPreference.objects.values_list("user_id", "kind"))
        for user_id in User.objects.filter(is_active=True).values_list("pk", flat=True):
            digest_kinds.setdefault(user_id, set()).update(
                k for k in NotificationKind.values if (user_id, k) not in chosen
            )  # fmt: skip
    made = 0
    for user in User.objects.filter(pk__in=digest_kinds, is_active=True).exclude(email=""):
        with transaction.atomic():
            notes = list(Notification.objects.select_for_update().filter(
                Q(recipient=user, read_at__isnull=True, digested_at__isnull=True, kind__in=digest_kinds[user.pk])
            ).order_by("created_at"))  # fmt: skip
            if not notes:
                continue
            text = "\n".join(f"- {n.title} ({n.created_at:%Y-%m-%d %H:%M} UTC)" for n in notes)
            Delivery.objects.create(email=user.email, subject=f"Your Keel digest: {len(notes)} unread",
                                    text=text, url=reverse("governance:notifications"), kind=NotificationKind.REMINDER,
                                    key=f"digest:{user.pk}:{now:%Y-%m-%d}")  # fmt: skip
            Notification.objects.filter(pk__in=[n.pk for n in notes]).update(digested_at=now)
            made += 1
    return made
