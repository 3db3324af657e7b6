"""The demo's incident register (seed_demo_governance): a serious incident already reported, with its
timeline and an open corrective action, and a fresh one on the lead's chatbot nobody has assessed yet, so
the executive dashboard and the risk officer's list show both states on first start. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from projects.models import AIProject

from ..incidents import services
from ..models import Incident, Seriousness


def seed_incidents(officer) -> int:
    """Made through the services (audited, notified) as the demo risk officer; nothing when any exists."""
    if Incident.objects.exists():
        return 0
    projects = {p.name: p for p in AIProject.objects.filter(name__in=["Credit scoring", "Support chatbot"])}
    if len(projects) < 2:
        return 0
    now = timezone.now().replace(second=0, microsecond=0)
    credit, chatbot = projects["Credit scoring"], projects["Support chatbot"]
    reported = services.incident_open(
        by=officer, title="Applicants from one postcode cluster declined at twice the rate",
        description="Complaints to the ombudsman showed declines concentrated in three postcodes after the "
        "March retraining; the postcode-derived feature acts as a proxy for ethnic origin.",
        severity="high", seriousness=Seriousness.FUNDAMENTAL_RIGHTS, aware_at=now - dt.timedelta(days=6),
        projects=[credit],
    )  # fmt: skip
    services.incident_note_add(by=officer, incident=reported, text="Model rolled back to the previous version.")
    services.incident_report_record(by=officer, incident=reported, reported_at=now - dt.timedelta(days=2),
                                    reference="MSA-2026-0147")  # fmt: skip
    owner = credit.team.lead or officer
    services.corrective_action_add(by=officer, incident=reported, description="Drop the postcode feature and add "
                                   "a disparate-impact test to the release checks", owner=owner,
                                   due_on=timezone.localdate() + dt.timedelta(days=14))  # fmt: skip
    cause = "A postcode-level feature correlated with ethnic origin."
    services.incident_update(by=officer, incident=reported, data={"root_cause": cause})
    lead = chatbot.team.lead or get_user_model().objects.get(pk=officer.pk)
    services.incident_open(
        by=lead, title="Chatbot told customers their claims were approved before assessment",
        description="Three customers were told in chat that their claims were approved; the claims were still "
        "being assessed.", severity="medium", aware_at=now - dt.timedelta(hours=20), projects=[chatbot],
    )  # fmt: skip
    return 2
