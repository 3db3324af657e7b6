"""Audit events as sentences a person reads: "Ravi Lindqvist approved sign-off #2 of claims-fraud-scorer v4".

One table maps each action Keel records to a sentence; `describe()` is the one function that turns an
event into its sentence and the URL of its subject. An action missing from the table still reads as
a sentence (the generic one names the action), and tests/governance/test_audit_sentences.py fails for
any action string in Keel's code that the table does not cover.

Templates take {actor}, {subject} and, where the event carries them, {before[...]} / {after[...]}; a
template whose detail the event lacks falls back to the action's plain sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from .subjects import Named, load_subjects, name_of

SYSTEM = "Keel"  # an event with no actor was written by Keel itself (a sync, a rule, a scheduled task)
ANONYMOUS = "An anonymous caller"
GENERIC = "{actor} recorded “{action}” on {subject}"

# action -> (sentence, the plainer sentence used when the event lacks a detail the first one names)
SENTENCES: dict[str, tuple[str, str]] = {
    # projects: teams, projects, the ROI ledger, FX rates
    "team.created": ("{actor} created {subject}", ""),
    "team.updated": ("{actor} updated {subject}", ""),
    "team.deleted": ("{actor} deleted {subject}", ""),
    "project.created": ("{actor} registered {subject}", ""),
    "project.updated": ("{actor} updated {subject}", ""),
    "project.stage_changed": (
        "{actor} moved {subject} from {before[stage]} to {after[stage]}",
        "{actor} changed the stage of {subject}",
    ),
    "project.deleted": ("{actor} deleted {subject}", ""),
    "roi_entry.created": ("{actor} logged {subject}", ""),
    "roi_entry.updated": ("{actor} changed {subject}", ""),
    "roi_entry.deleted": ("{actor} deleted {subject}", ""),
    "roi_entry.restored": ("{actor} restored {subject}, which had been deleted", ""),
    "roi_entry.reconverted": ("{actor} reconverted {subject} at a new exchange rate", ""),
    "fx_rate.created": ("{actor} set {subject}", ""),
    "fx_rate.updated": ("{actor} changed {subject}", ""),
    "fx_rate.deleted": ("{actor} deleted {subject}", ""),
    # registries and what their sync saw
    "registry.created": ("{actor} connected {subject}", ""),
    "registry.updated": ("{actor} updated {subject}", ""),
    "registry.deleted": ("{actor} removed {subject}", ""),
    "registry.sync_requested": ("{actor} asked for a sync of {subject}", ""),
    "registry_author.mapped": ("{actor} mapped {subject}", ""),
    "registry_author.updated": ("{actor} changed {subject}", ""),
    "registry_author.unmapped": ("{actor} removed {subject}", ""),
    "registered_model.created": ("{actor} found {subject} in its registry", ""),
    "registered_model.updated": ("{actor} saw {subject} change in its registry", ""),
    "registered_model.deleted": ("{actor} saw {subject} deleted from its registry", ""),
    "registered_model.linked": ("{actor} linked {subject} to a project", ""),
    "registered_model.unlinked": ("{actor} unlinked {subject} from its project", ""),
    "model_version.created": ("{actor} found {subject} in its registry", ""),
    "model_version.updated": ("{actor} saw {subject} change in its registry", ""),
    "model_version.deleted": ("{actor} saw {subject} deleted from its registry", ""),
    "model_version.tag_written": ("{actor} wrote the sign-off status to {subject} in its registry", ""),
    "deployment.observed": ("{actor} observed {subject}", ""),
    "deployment.ended": ("{actor} observed that {subject} ended", ""),
    # risks, mitigations, the tier questionnaire
    "risk.created": ("{actor} added {subject}", ""),
    "risk.updated": ("{actor} updated {subject}", ""),
    "risk.open": ("{actor} reopened {subject}", ""),
    "risk.mitigating": ("{actor} started mitigating {subject}", ""),
    "risk.accepted": ("{actor} accepted {subject}", ""),
    "risk.acceptance_expired": ("{actor} recorded that the acceptance of {subject} has expired", ""),
    "risk.closed": ("{actor} closed {subject}", ""),
    "risk.reviewed": ("{actor} reviewed {subject}", ""),
    "risk.review_overdue": ("{actor} flagged the review of {subject} as overdue", ""),
    "mitigation.created": ("{actor} added {subject}", ""),
    "mitigation.updated": ("{actor} updated {subject}", ""),
    "tier_assessment.submitted": (
        "{actor} answered {subject}: tier {after[tier]}",
        "{actor} answered {subject}",
    ),
    "tier_assessment.reassessed": (
        "{actor} reassessed {subject}: tier {after[tier]}",
        "{actor} reassessed {subject}",
    ),
    # sign-off, policies, the deployment gate
    "signoff.requested": ("{actor} requested {subject}", ""),
    "signoff.decided": ("{actor} decided “{after[verdict]}” on {subject}", "{actor} decided on {subject}"),
    "signoff.decision_refused": ("{actor} was refused a decision on {subject}", ""),
    "signoff.approved": ("{actor} approved {subject}", ""),
    "signoff.rejected": ("{actor} rejected {subject}", ""),
    "signoff.withdrawn": ("{actor} withdrew {subject}", ""),
    "signoff.invalidated": ("{actor} invalidated {subject}: {after[reason]}", "{actor} invalidated {subject}"),
    "signoff.expired": ("{actor} expired {subject}", ""),
    "signoff.flagged_for_review": (
        "{actor} flagged {subject} for re-review: {after[signal]} was {after[value]}",
        "{actor} flagged {subject} for re-review",
    ),
    "signoff_policy.published": ("{actor} published {subject}", ""),
    "gate.allowed": (
        "{actor} asked the gate about {subject} for {after[environment]}: allowed",
        "{actor} asked the gate about {subject}: allowed",
    ),
    "gate.denied": (
        "{actor} asked the gate about {subject} for {after[environment]}: denied",
        "{actor} asked the gate about {subject}: denied",
    ),
    # findings
    "finding.opened": ("{actor} opened {subject}", ""),
    "finding.assigned": ("{actor} assigned {subject}", ""),
    "finding.resolved": ("{actor} resolved {subject}", ""),
    # incidents
    "incident.opened": ("{actor} opened {subject}", ""),
    "incident.updated": ("{actor} updated {subject}", ""),
    "incident.note_added": ("{actor} added to the timeline of {subject}", ""),
    "incident.action_added": (
        "{actor} added a corrective action to {subject}, due {after[due_on]}",
        "{actor} added a corrective action to {subject}",
    ),
    "incident.action_completed": ("{actor} completed a corrective action of {subject}", ""),
    "incident.reported": ("{actor} recorded the report of {subject} to the authority", ""),
    "incident.closed": ("{actor} closed {subject}", ""),
    # notifications
    "notification.preferences_changed": ("{actor} changed the notification e-mail preferences of {subject}", ""),
    "notification_channel.created": ("{actor} added the notification channel {subject}", ""),
    "notification_channel.updated": ("{actor} changed the notification channel {subject}", ""),
    "notification_channel.deleted": ("{actor} removed the notification channel {subject}", ""),
    # registry metrics and metric thresholds
    "model_version.metrics_synced": ("{actor} recorded new registry metrics of {subject}", ""),
    "signoff.metrics_flagged": ("{actor} flagged {subject} for re-review: a metric misses its threshold", ""),
    "signoff.metrics_cleared": ("{actor} cleared the metric flag of {subject}: its thresholds are met", ""),
    "signoff_policy.metric_requirements": ("{actor} set the metric requirements of {subject}", ""),
    # PII, lineage, obligations
    "classification.asserted": ("{actor} recorded {subject}", ""),
    "classification.retracted": ("{actor} retracted {subject}", ""),
    "classification.propagated": ("{actor} propagated personal-data classifications to {subject}", ""),
    "classification.bulk_asserted": (
        "{actor} classified {after[count]} column(s) of {subject} at once as personal data",
        "{actor} classified columns of {subject} at once as personal data",
    ),
    "classification.suggestions_confirmed": (
        "{actor} confirmed {after[count]} suggested personal-data classification(s) in {subject}",
        "{actor} confirmed suggested personal-data classifications in {subject}",
    ),
    "dataset.registered": ("{actor} registered {subject} by hand", ""),
    "dataset.inventory_imported": (
        "{actor} imported the data inventory {after[source]} into {subject}",
        "{actor} imported a data inventory into {subject}",
    ),
    "dataset.compliance_updated": ("{actor} updated the GDPR record of {subject}", ""),
    "dataset.model_linked": ("{actor} linked {subject} to a model version", ""),
    "dataset.model_unlinked": ("{actor} unlinked {subject} from its model version", ""),
    "dataset.model_link_refused": (
        "{actor} was refused a link of {subject} to {after[version]}: {after[why]}",
        "{actor} was refused a model link of {subject}",
    ),
    "dataset.facets_refused": (
        "{actor} was refused a change to the facets of {subject}: {after[why]}",
        "{actor} was refused a change to the facets of {subject}",
    ),
    "lineage.ingested": ("{actor} sent {subject}", ""),
    "lineage.applied": (
        "{actor} applied {after[applied]} lineage event(s) sent by {after[sent_by]} to the graph, "
        "starting with {subject}",
        "{actor} applied a batch of lineage events to the graph, starting with {subject}",
    ),
    "lineage.refused": (
        "{actor} sent {subject}, refused when applied: {after[reason]}",
        "{actor} sent {subject}, refused when applied",
    ),
    # monitoring signals and the plan
    "monitoring.signals_recorded": (
        "{actor} recorded {after[recorded]} monitoring signal value(s) from {after[source]} for {subject}",
        "{actor} recorded monitoring signals for {subject}",
    ),
    "monitoring.plan_item_added": ("{actor} added {subject} to the monitoring plan", ""),
    "monitoring.plan_item_changed": ("{actor} changed {subject} on the monitoring plan", ""),
    "monitoring.plan_item_removed": ("{actor} took {subject} off the monitoring plan", ""),
    "obligation.evaluated": ("{actor} evaluated {subject}: {after[status]}", "{actor} evaluated {subject}"),
    "evidence.given": ("{actor} gave evidence for {subject}", ""),
    # API tokens, the audit trail itself
    "api_token.created": ("{actor} created {subject}", ""),
    "api_token.revoked": ("{actor} revoked {subject}", ""),
    "api_token.scoped": (
        "{actor} set the lineage namespaces of {subject} to {after[lineage_namespaces]}",
        "{actor} set the lineage namespaces of {subject}",
    ),
    "audit.verification_requested": ("{actor} asked for {subject}", ""),
    # access and sign-ins (core/access_audit.py: the admin, a shell or a command made the change)
    "user.role_granted": ("{actor} granted the role {after[role]} to {subject}", "{actor} granted a role to {subject}"),
    "user.role_revoked": (
        "{actor} revoked the role {before[role]} from {subject}",
        "{actor} revoked a role from {subject}",
    ),
    "user.permission_granted": (
        "{actor} granted the permission {after[permission]} to {subject}",
        "{actor} granted a permission to {subject}",
    ),
    "user.permission_revoked": (
        "{actor} revoked the permission {before[permission]} from {subject}",
        "{actor} revoked a permission from {subject}",
    ),
    "group.permission_granted": (
        "{actor} granted the permission {after[permission]} to {subject}",
        "{actor} granted a permission to {subject}",
    ),
    "group.permission_revoked": (
        "{actor} revoked the permission {before[permission]} from {subject}",
        "{actor} revoked a permission from {subject}",
    ),
    "user.access_changed": ("{actor} changed the account flags of {subject}", ""),
    "user.created": ("{actor} created the superuser {subject}", ""),
    "user.deleted": ("{actor} deleted the account {subject}", ""),
    "group.deleted": ("{actor} deleted the role group {subject}", ""),
    "user.signed_in": ("{actor} signed in as {subject} from {after[address]}", "{actor} signed in as {subject}"),
    "user.signed_out": ("{actor} signed out as {subject}", ""),
    "user.sign_in_failed": (
        "{actor} failed to sign in as {subject} from {after[address]}",
        "{actor} failed to sign in as {subject}",
    ),
    "user.locked_out": (
        "{actor} was locked out of {subject} from {after[address]}",
        "{actor} was locked out of {subject}",
    ),
    # the periodic-task schedule (core/schedule_audit.py: /admin/django_celery_beat/, beat's own install)
    "schedule.created": ("{actor} added {subject} to the task schedule", ""),
    "schedule.updated": ("{actor} changed {subject} in the task schedule", ""),
    "schedule.deleted": ("{actor} removed {subject} from the task schedule", ""),
}


@dataclass(frozen=True)
class Described:
    """One event as the audit page shows it."""

    sentence: str
    url: str | None  # the subject's page, while the subject exists


def actor_name(event, names: dict[int, str]) -> str:
    """Who did it: the person's name when they still exist, else the username the event kept."""
    if event.actor_id is None:
        return ANONYMOUS if event.actor_repr == "anonymous" else SYSTEM
    return names.get(event.actor_id) or event.actor_repr


def describe(event, *, actor: str, subject: Named) -> Described:
    """The one mapping from (action, object type) to a sentence and the subject's URL."""
    full, plain = SENTENCES.get(event.action, (GENERIC, ""))
    values = {
        "actor": actor, "subject": subject.text, "action": event.action,
        "before": event.before if isinstance(event.before, dict) else {},
        "after": event.after if isinstance(event.after, dict) else {},
    }  # fmt: skip
    try:
        sentence = full.format_map(values)
    except (KeyError, IndexError, TypeError, ValueError):
        sentence = (plain or GENERIC).format_map(values)
    return Described(sentence[:1].upper() + sentence[1:], subject.url)


def actor_names(events: Iterable) -> dict[int, str]:
    """Full names of the events' actors, in one query."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    users = get_user_model().objects.filter(pk__in=ids) if ids else []
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def describe_events(events: Sequence) -> list[Described]:
    """Each event described, its subjects and actors loaded in a fixed number of queries (one per object
    type on the page, one for the actors), however many events there are."""
    subjects = load_subjects(events)
    names = actor_names(events)
    return [
        describe(e, actor=actor_name(e, names), subject=name_of(e, subjects.get((e.object_type, e.object_id))))
        for e in events
    ]
