"""What an audit event is about, in words and as a link: the subject of each object type Keel audits.

An event names its subject by type and id only (the trail must outlive the rows it speaks of), so a
page of events loads its subjects here, one query per object type on the page whatever its length.
A subject that no longer exists is named from the event's own before/after snapshot and not linked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse

from ..compliance.rules import RULES_BY_ID


def url(name: str, *args) -> str | None:
    """A page's URL, or None when Keel has no such page (yet): some subjects gain pages later."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def first_url(*candidates: tuple) -> str | None:
    """The first of (url name, *args) that exists: a detail page if Keel has one, else its list."""
    for name, *args in candidates:
        if (found := url(name, *args)) is not None:
            return found
    return None


@dataclass(frozen=True)
class Subject:
    """How to load, name and link one object type's rows."""

    model: str  # app_label.ModelName
    name: Callable  # row -> words
    link: Callable = lambda row: None  # row -> URL or None
    related: tuple[str, ...] = ()  # select_related, so naming a row costs no query
    gone: Callable = lambda snap, pk: ""  # snapshot (before | after), id -> words for a deleted subject


def _project_url(project) -> str | None:
    return url("projects:detail", project.slug) if project is not None else None


def _money(amount, currency: str) -> str:
    return f"{currency} {amount:,.2f}".replace(".00", "")


def _roi_name(e) -> str:
    return (
        f"the {e.basis} {e.kind} of {_money(e.amount, e.currency)} for {e.month:%b %Y} "
        f"({e.get_category_display().lower()}) in {e.project.name}"
    )


def _roi_gone(snap: dict, pk: str) -> str:
    if {"basis", "kind", "amount", "currency", "month"} <= snap.keys():
        return f"the {snap['basis']} {snap['kind']} of {snap['currency']} {snap['amount']} for {snap['month'][:7]}"
    return f"ROI entry #{pk}"


def _signoff_name(r) -> str:
    return f"sign-off #{r.pk} of {r.fingerprint.get('model')} v{r.fingerprint.get('version')}"


def _rule_title(rule_id: str) -> str:
    rule = RULES_BY_ID.get(rule_id)
    return rule.title if rule else rule_id


def _classification_name(c) -> str:
    where = f"{c.dataset.name}.{c.field.name}" if c.field_id else c.dataset.name
    return f"the {c.get_pii_kind_display()} classification of {where}"


def _deployment_name(d) -> str:
    return f"{d.version.registered_model.name} v{d.version.version} holding {d.get_signal_display().lower()} “{d.name}”"


def _deployment_gone(snap: dict, pk: str) -> str:
    return f"{snap['model']} v{snap['version']}" if {"model", "version"} <= snap.keys() else f"deployment #{pk}"


def _named(prefix: str, key: str = "name"):
    """For a deleted subject: `prefix “name”` from the snapshot, or `prefix #id`."""
    return lambda snap, pk: f"{prefix} “{snap[key]}”" if snap.get(key) else f"{prefix} #{pk}"


SUBJECTS: dict[str, Subject] = {
    "projects.aiproject": Subject(
        "projects.AIProject", lambda p: f"project “{p.name}”", _project_url, gone=_named("project")
    ),
    "projects.team": Subject("projects.Team", lambda t: f"team “{t.name}”", gone=_named("team")),
    "projects.registry": Subject(
        "projects.Registry",
        lambda r: f"registry “{r.name}”",
        lambda r: first_url(("projects:registry", r.pk), ("projects:registries",)),
        gone=_named("registry"),
    ),
    "projects.registryauthor": Subject(
        "projects.RegistryAuthor",
        lambda a: f"the registry user “{a.registry_user}” of {a.registry.name} to Keel user {a.user.get_username()}",
        lambda a: first_url(("projects:registry", a.registry_id), ("projects:registries",)),
        related=("registry", "user"),
        gone=_named("the author mapping of registry user", "registry_user"),
    ),
    "projects.registeredmodel": Subject(
        "projects.RegisteredModel",
        lambda m: f"model “{m.name}”" + (f" of {m.project.name}" if m.project_id else ""),
        lambda m: _project_url(m.project) or first_url(("projects:registry", m.registry_id), ("projects:registries",)),
        related=("project",),
        gone=_named("model"),
    ),
    "projects.modelversion": Subject(
        "projects.ModelVersion",
        lambda v: f"{v.registered_model.name} v{v.version}",
        lambda v: _project_url(v.registered_model.project),
        related=("registered_model__project",),
        gone=lambda snap, pk: f"{snap['model']} v{snap['version']}" if "model" in snap else f"model version #{pk}",
    ),
    "projects.deploymentobservation": Subject(
        "projects.DeploymentObservation",
        _deployment_name,
        lambda d: _project_url(d.version.registered_model.project),
        related=("version__registered_model__project",),
        gone=_deployment_gone,
    ),
    "projects.roientry": Subject(
        "projects.ROIEntry", _roi_name, lambda e: url("projects:roi", e.project.slug), ("project",), _roi_gone
    ),
    "projects.fxrate": Subject(
        "projects.FxRate",
        lambda f: f"the {f.currency} exchange rate for {f.month:%b %Y}",
        gone=lambda snap, pk: f"the {snap.get('currency', '')} exchange rate #{pk}",
    ),
    "core.apitoken": Subject(
        "core.ApiToken",
        lambda t: f"API token “{t.name or t.prefix}” of {t.user.get_username()}",
        related=("user",),
        gone=_named("API token"),
    ),
    "governance.signoffrequest": Subject(
        "governance.SignOffRequest", _signoff_name, lambda r: url("governance:signoff", r.pk)
    ),
    "governance.signoffpolicy": Subject(
        "governance.SignOffPolicy",
        lambda p: f"the {p.get_tier_display().lower()} sign-off policy v{p.version}",
        lambda p: first_url(("governance:signoff-policies",)),
    ),
    "governance.risk": Subject(
        "governance.Risk",
        lambda r: f"risk “{r.title}” of {r.project.name}",
        lambda r: url("governance:risk", r.pk),
        ("project",),
        _named("risk", "title"),
    ),
    "governance.mitigation": Subject(
        "governance.Mitigation",
        lambda m: f"mitigation “{m.action}” of risk “{m.risk.title}”",
        lambda m: url("governance:risk", m.risk_id),
        ("risk",),
        _named("mitigation", "action"),
    ),
    "governance.finding": Subject(
        "governance.Finding",
        lambda f: f"finding “{f.title}”",
        lambda f: first_url(("governance:finding", f.pk), ("governance:findings",)),
        gone=_named("finding", "title"),
    ),
    "governance.risktierassessment": Subject(
        "governance.RiskTierAssessment",
        lambda a: f"the EU AI Act questionnaire of {a.project.name} (version {a.version})",
        lambda a: url("governance:tier", a.project.slug),
        ("project",),
    ),
    "governance.classification": Subject(
        "governance.Classification",
        _classification_name,
        lambda c: url("governance:dataset", c.dataset_id),
        ("dataset", "field"),
        lambda snap, pk: f"the {snap.get('pii_kind') or 'personal-data'} classification #{pk}",
    ),
    "governance.dataset": Subject(
        "governance.Dataset", lambda d: f"dataset “{d.name}”", lambda d: url("governance:dataset", d.pk)
    ),
    "governance.obligation": Subject(
        "governance.Obligation",
        lambda o: f"the obligation “{_rule_title(o.rule_id)}” of {o.project.name}",
        lambda o: url("governance:project-compliance", o.project.slug),
        ("project",),
    ),
    "governance.evidence": Subject(
        "governance.Evidence",
        lambda e: f"the obligation “{_rule_title(e.obligation.rule_id)}” of {e.obligation.project.name}",
        lambda e: url("governance:project-compliance", e.obligation.project.slug),
        ("obligation__project",),
    ),
    "governance.monitoringplanitem": Subject(
        "governance.MonitoringPlanItem",
        lambda i: f"the monitored signal “{i.name}” of {i.project.name}",
        lambda i: url("governance:project-monitoring", i.project.slug),
        ("project",),
        _named("monitored signal", "name"),
    ),
    "governance.lineageevent": Subject(
        "governance.LineageEvent",
        lambda e: (
            f"an OpenLineage {e.kind} event{' (' + e.event_type + ')' if e.event_type else ''}"
            + (f" of job {e.job_name}" if e.job_name else "")
        ),
    ),
    "auth.user": Subject(
        "auth.User",
        lambda u: f"user “{u.get_username()}”",
        gone=lambda snap, pk: (
            f"user “{snap['username']}”" if snap.get("username") else (f"user #{pk}" if pk else "an unknown account")
        ),
    ),
    "auth.group": Subject("auth.Group", lambda g: f"role “{g.name}”", gone=_named("role")),
    "django_celery_beat.periodictask": Subject(
        "django_celery_beat.PeriodicTask", lambda t: f"task “{t.name}”", gone=_named("task")
    ),
    "django_celery_beat.intervalschedule": Subject(
        "django_celery_beat.IntervalSchedule", lambda s: f"the interval “{s}”"
    ),
    "django_celery_beat.crontabschedule": Subject("django_celery_beat.CrontabSchedule", lambda s: f"the crontab “{s}”"),
    "django_celery_beat.solarschedule": Subject("django_celery_beat.SolarSchedule", lambda s: f"the solar event “{s}”"),
    "django_celery_beat.clockedschedule": Subject(
        "django_celery_beat.ClockedSchedule", lambda s: f"the clocked time “{s}”"
    ),
    "governance.auditverification": Subject(
        "governance.AuditVerification",
        lambda v: f"verification #{v.pk} of the audit chain",
        lambda v: url("governance:audit"),
    ),
}


@dataclass(frozen=True)
class Named:
    """A subject as an audit page shows it: words, and a link while the subject exists."""

    text: str
    url: str | None = None


def _snapshot(event) -> dict:
    """What the event itself says about its subject: its after picture, else its before picture."""
    snap = {}
    for part in (event.before, event.after):
        if isinstance(part, dict):
            snap.update(part)
    return snap


def name_of(event, row) -> Named:
    """The event's subject in words (and a link when `row`, the subject's current row, exists)."""
    subject = SUBJECTS.get(event.object_type)
    if subject is None:  # an object type this module does not know: say what the event says
        label = event.object_type.rsplit(".", 1)[-1] if event.object_type else "object"
        return Named(f"{label} {event.object_id}".strip())
    if row is None:
        return Named(subject.gone(_snapshot(event), event.object_id) or f"{_verbose(subject)} #{event.object_id}")
    return Named(subject.name(row), subject.link(row))


def _verbose(subject: Subject) -> str:
    return apps.get_model(subject.model)._meta.verbose_name


def load_subjects(events: Iterable) -> dict[tuple[str, str], object]:
    """The current row of each event's subject, keyed by (object_type, object_id): one query per object
    type among the events. Subjects that no longer exist (or ids of the wrong shape) are left out."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.object_type in SUBJECTS and e.object_id:
            wanted[e.object_type].add(e.object_id)
    found: dict[tuple[str, str], object] = {}
    for object_type, ids in wanted.items():
        subject = SUBJECTS[object_type]
        model = apps.get_model(subject.model)
        keys = _valid_keys(model, ids)
        if not keys:
            continue
        for pk, row in model.objects.select_related(*subject.related).in_bulk(keys).items():
            found[(object_type, str(pk))] = row
    return found


def _valid_keys(model, ids: set[str]) -> list:
    """The ids that can be primary keys of `model` (an event may name one like "registry/model")."""
    field = model._meta.pk
    keys = []
    for raw in ids:
        try:
            keys.append(field.to_python(raw))
        except (ValidationError, ValueError, TypeError):
            continue  # a malformed id names no row
    return keys
