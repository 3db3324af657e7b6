"""The writes of monitoring: signals recorded (from any source), the plan changed, stale signals checked.

A plan item names one signal of a project with its bounds and how often it must arrive. After each write
the *latest* value (by measured_at) of every touched (plan item, version) decides: out of bounds opens one
SIGNAL_BREACHED finding (and, by the item's on_breach, flags or invalidates the version's live sign-offs,
once per breach); back within bounds resolves it. A version serving production whose planned signal has
not been measured for longer than the item's frequency gets one SIGNAL_STALE finding (signals_check_stale,
run by beat); the next value resolves it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from core import audit
from core.dates import date_window
from core.errors import DomainError, PermissionDeniedError
from core.services import model_create, model_delete, model_update
from projects.models import AIProject, DeploymentObservation, ModelVersion

from ..findings.services import finding_close, finding_open
from ..models import (
    BreachAction,
    Finding,
    FindingKind,
    MonitoringPlanItem,
    MonitoringSignal,
    Severity,
    SignalKind,
    SignOffRequest,
    SignOffStatus,
)
from ..signoff.deployments import production_signal_q
from ..signoff.invalidation import invalidate
from .permissions import can_monitor

SUBJECT_TYPE = "governance.monitoringplanitem"
SIGNAL_BREACHED_CODE = "signal_breached"
MAX_SIGNALS_PER_POST = 1000
FUTURE_SKEW = dt.timedelta(minutes=5)

NOT_YOURS = "You may record signals and change the monitoring plan only for your team's projects."
NO_PROJECT = "{version} belongs to no project: link its model to a project before sending it signals."
NAME_REQUIRED = "Give the signal a name."
NAME_TOO_LONG = "A signal's name has at most 200 characters."
VALUE_NOT_A_NUMBER = "The value must be a finite number."
MEASURED_IN_FUTURE = "measured_at {value} is in the future."
MEASURED_TOO_OLD = "measured_at {value} is before {first}, the first date Keel accepts (KEEL_DATE_MIN_YEAR)."
TOO_MANY = "At most {limit} signals per post."
NONE_GIVEN = "No signals: give at least one."
BOUNDS_REVERSED = "The lower bound must not be above the upper bound."
PLAN_FIELDS = ("name", "kind", "lower", "upper", "expected_every_hours", "on_breach")


@dataclass(frozen=True)
class SignalIn:
    """One value to record, as a source gives it (validated by signals_record)."""

    name: str
    value: float
    measured_at: dt.datetime
    kind: str = SignalKind.OTHER
    reference: str = ""


@dataclass
class Recorded:
    created: list[MonitoringSignal] = field(default_factory=list)
    duplicates: int = 0
    breaches: list[str] = field(default_factory=list)  # names of plan items breached by their latest value


def version_label(version: ModelVersion) -> str:
    return f"{version.registered_model.name} v{version.version}"


def signal_problems(signals: list[SignalIn], *, now: dt.datetime) -> dict[str, list[str]]:
    """What is wrong with each value, keyed "signals[i].field" (empty when all are fine)."""
    problems: dict[str, list[str]] = {}
    earliest = dt.datetime.combine(date_window()[0], dt.time.min, tzinfo=dt.UTC)
    if not signals:
        problems["signals"] = [NONE_GIVEN]
    if len(signals) > MAX_SIGNALS_PER_POST:
        problems["signals"] = [TOO_MANY.format(limit=MAX_SIGNALS_PER_POST)]
    for i, s in enumerate(signals):
        if not s.name.strip():
            problems[f"signals[{i}].name"] = [NAME_REQUIRED]
        elif len(s.name) > 200:
            problems[f"signals[{i}].name"] = [NAME_TOO_LONG]
        if isinstance(s.value, bool) or not isinstance(s.value, int | float) or not math.isfinite(s.value):
            problems[f"signals[{i}].value"] = [VALUE_NOT_A_NUMBER]
        if s.measured_at > now + FUTURE_SKEW:
            problems[f"signals[{i}].measured_at"] = [MEASURED_IN_FUTURE.format(value=s.measured_at.isoformat())]
        elif s.measured_at < earliest:
            problems[f"signals[{i}].measured_at"] = [
                MEASURED_TOO_OLD.format(value=s.measured_at.isoformat(), first=earliest.date().isoformat())
            ]
    return problems


@transaction.atomic
def signals_record(
    *, version: ModelVersion, signals: list[SignalIn], source: str, by, check_permission: bool = True,
    reference: str = "",
) -> Recorded:  # fmt: skip
    """Record values about `version` (one audit event for the post), skip ones already recorded (same name,
    time and source), then evaluate the plan on the latest values. `check_permission` is False only for
    sources Keel has already authorised another way (a lineage event accepted for its namespaces)."""
    project = version.registered_model.project
    if project is None:
        raise DomainError(NO_PROJECT.format(version=version_label(version)), field="version", code="no_project")
    if check_permission and not can_monitor(by, project):
        raise PermissionDeniedError(NOT_YOURS)
    now = timezone.now()
    problems = signal_problems(signals, now=now)
    if problems:
        raise ValidationError(problems)
    names = sorted({s.name for s in signals})
    seen = set(
        MonitoringSignal.objects.filter(model_version=version, source=source, name__in=names).values_list(
            "name", "measured_at"
        )
    )
    plan = {item.name: item for item in MonitoringPlanItem.objects.filter(project=project, name__in=names)}
    out = Recorded()
    rows = []
    for s in signals:
        key = (s.name, s.measured_at)
        if key in seen:
            out.duplicates += 1
            continue
        seen.add(key)
        item = plan.get(s.name)
        rows.append(
            MonitoringSignal(
                model_version=version, project=project, name=s.name, kind=item.kind if item else s.kind,
                value=float(s.value), measured_at=s.measured_at, received_at=now, source=source,
                reference=(s.reference or reference)[:500], breached=bool(item and item.breached_by(float(s.value))),
                received_by=by if getattr(by, "pk", None) else None,
            )
        )  # fmt: skip
    out.created = MonitoringSignal.objects.bulk_create(rows)
    touched = [plan[n] for n in sorted({r.name for r in rows}) if n in plan]
    for item in touched:
        if _evaluate(item, version, now=now):
            out.breaches.append(item.name)
        _stale_close(item, version, now=now)
    audit.record(
        actor=by if getattr(by, "pk", None) else None,
        action="monitoring.signals_recorded",
        obj=version,
        after={
            "source": source, "project": project.pk, "recorded": len(rows), "duplicates": out.duplicates,
            "names": names[:50], "breached": out.breaches, "reference": reference[:200],
        },
    )  # fmt: skip
    return out


def _subject_id(item: MonitoringPlanItem, version_id: int) -> str:
    return f"{item.pk}:{version_id}"


def _open(kind: str, item: MonitoringPlanItem, version_id: int) -> Finding | None:
    return Finding.objects.filter(
        kind=kind, subject_type=SUBJECT_TYPE, subject_id=_subject_id(item, version_id), resolved_at=None
    ).first()


def _evaluate(item: MonitoringPlanItem, version: ModelVersion, *, now: dt.datetime) -> bool:
    """Open or resolve the breach finding of (item, version) by the latest value; True when breached."""
    latest = (
        MonitoringSignal.objects.filter(model_version=version, name=item.name).order_by("-measured_at", "-pk").first()
    )
    if latest is None:
        return False
    breached = item.breached_by(latest.value)
    finding = _open(FindingKind.SIGNAL_BREACHED, item, version.pk)
    if breached and finding is None:
        _breach_open(item, version, latest)
    elif not breached and finding is not None:
        finding_close(
            finding, f"{item.name} is {latest.value:g} at {latest.measured_at:%Y-%m-%d %H:%M} UTC, within bounds."
        )
    return breached


def _breach_open(item: MonitoringPlanItem, version: ModelVersion, latest: MonitoringSignal) -> None:
    label = version_label(version)
    sentence = (
        f"{item.name} of {label} was {latest.value:g} at {latest.measured_at:%Y-%m-%d %H:%M} UTC; "
        f"the monitoring plan of {item.project.name} expects {item.bounds_text}."
    )
    live = list(
        SignOffRequest.objects.select_for_update(of=("self",))
        .select_related("policy", "project", "requested_by", "model_version__registered_model__registry")
        .filter(model_version=version, status__in=[SignOffStatus.PENDING, SignOffStatus.APPROVED])
        .order_by("pk")
    )
    detail = sentence
    if live and item.on_breach == BreachAction.FLAG:
        detail += " Flagged for re-review: " + ", ".join(f"sign-off #{r.pk}" for r in live) + "."
    elif live and item.on_breach == BreachAction.INVALIDATE:
        detail += " Invalidated: " + ", ".join(f"sign-off #{r.pk}" for r in live) + "."
    finding_open(
        kind=FindingKind.SIGNAL_BREACHED,
        severity=Severity.HIGH if item.on_breach == BreachAction.INVALIDATE else Severity.MEDIUM,
        title=f"{item.name} out of bounds on {label} ({item.project.name})",
        detail=detail, subject_type=SUBJECT_TYPE, subject_id=_subject_id(item, version.pk), project=item.project,
        assignee=live[0].requested_by if live else None,
        extra={"signal": item.name, "value": latest.value, "signal_id": latest.pk, "on_breach": item.on_breach},
    )  # fmt: skip
    for request in live:
        if item.on_breach == BreachAction.FLAG:
            # A flag keeps the sign-off standing (the gate still allows) but records, on the request's own
            # audit trail, that its evidence no longer holds; the breach finding carries the follow-up.
            audit.record(
                actor=None, action="signoff.flagged_for_review", obj=request,
                after={"reason": SIGNAL_BREACHED_CODE, "signal": item.name, "value": latest.value, "detail": sentence},
            )  # fmt: skip
        elif item.on_breach == BreachAction.INVALIDATE:
            invalidate(request, [(SIGNAL_BREACHED_CODE, sentence)], actor=None)


def _stale_close(item: MonitoringPlanItem, version: ModelVersion, *, now: dt.datetime) -> None:
    finding = _open(FindingKind.SIGNAL_STALE, item, version.pk)
    if finding is None or item.expected_every_hours is None:
        return
    last = MonitoringSignal.objects.filter(model_version=version, name=item.name).aggregate(m=Max("measured_at"))["m"]
    if last is not None and now - last <= dt.timedelta(hours=item.expected_every_hours):
        finding_close(finding, f"{item.name} arrived again (measured {last:%Y-%m-%d %H:%M} UTC).")


@transaction.atomic
def signals_check_stale(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat: one SIGNAL_STALE finding per planned signal (with a frequency) not measured for longer than its
    frequency on a version serving production, counted from its last value, or, when none came yet, from
    when both the plan item and the deployment existed. Stale findings whose cause went away resolve."""
    now = now or timezone.now()
    items = list(MonitoringPlanItem.objects.filter(expected_every_hours__isnull=False).select_related("project"))
    serving = dict(
        DeploymentObservation.objects.filter(
            production_signal_q(), version__registered_model__project_id__in={i.project_id for i in items}
        )
        .values("version_id")
        .annotate(since=Min("observed_from"))
        .values_list("version_id", "since")
    )
    versions = ModelVersion.objects.select_related("registered_model").in_bulk(list(serving))
    last = {
        (v, n): m
        for v, n, m in MonitoringSignal.objects.filter(model_version_id__in=list(serving))
        .values("model_version_id", "name")
        .annotate(m=Max("measured_at"))
        .values_list("model_version_id", "name", "m")
    }
    open_findings = {
        f.subject_id: f
        for f in Finding.objects.select_for_update().filter(
            kind=FindingKind.SIGNAL_STALE, subject_type=SUBJECT_TYPE, resolved_at=None
        )
    }
    stale_now: set[str] = set()
    opened = 0
    for item in items:
        limit = dt.timedelta(hours=item.expected_every_hours)
        for version in (v for v in versions.values() if v.registered_model.project_id == item.project_id):
            measured = last.get((version.pk, item.name))
            since = measured or max(item.created_at, serving[version.pk])
            if now - since <= limit:
                continue
            subject_id = _subject_id(item, version.pk)
            stale_now.add(subject_id)
            if subject_id in open_findings:
                continue
            what = f"last measured {measured:%Y-%m-%d %H:%M} UTC" if measured else "never measured"
            finding_open(
                kind=FindingKind.SIGNAL_STALE, severity=Severity.MEDIUM,
                title=f"{item.name} stopped arriving for {version_label(version)} ({item.project.name})",
                detail=f"The monitoring plan expects {item.name} at least every {item.expected_every_hours} h; "
                f"it was {what}.",
                subject_type=SUBJECT_TYPE, subject_id=subject_id, project=item.project,
                extra={"signal": item.name, "last_measured_at": audit.json_value(measured)},
            )  # fmt: skip
            opened += 1
    resolved = 0
    for subject_id, finding in open_findings.items():
        if subject_id not in stale_now:
            finding_close(finding, "The signal arrives again, the version left production, or the plan changed.")
            resolved += 1
    return {"opened": opened, "resolved": resolved}


def _locked_project(project: AIProject, by) -> AIProject:
    if not can_monitor(by, project):
        raise PermissionDeniedError(NOT_YOURS)
    return project


@transaction.atomic
def monitoring_plan_item_save(*, project: AIProject, by, data: dict) -> MonitoringPlanItem:
    """Add a signal to the project's plan, or change the one of that name (audited); the latest values of
    the project's versions are evaluated again at once against the new bounds."""
    _locked_project(project, by)
    data = {k: data.get(k) for k in PLAN_FIELDS if k in data}
    lower, upper = data.get("lower"), data.get("upper")
    if lower is not None and upper is not None and lower > upper:
        raise ValidationError({"lower": [BOUNDS_REVERSED]})
    item = MonitoringPlanItem.objects.select_for_update().filter(project=project, name=data.get("name")).first()
    if item is None:
        item = model_create(
            instance=MonitoringPlanItem(project=project, **data), by=by, action="monitoring.plan_item_added",
            fields=PLAN_FIELDS,
        )  # fmt: skip
    else:
        changes = {k: v for k, v in data.items() if k != "name"}
        item, changed = model_update(
            instance=item, fields=list(changes), data=changes, by=by, action="monitoring.plan_item_changed"
        )
        if changed:
            item.updated_at = timezone.now()
            item.save(update_fields=["updated_at"])
    now = timezone.now()
    versions = ModelVersion.objects.select_related("registered_model").filter(
        pk__in=MonitoringSignal.objects.filter(project=project, name=item.name).values("model_version_id")
    )
    for version in versions:
        _evaluate(item, version, now=now)
    return item


@transaction.atomic
def monitoring_plan_item_delete(*, item: MonitoringPlanItem, by) -> None:
    """Take a signal off the plan (audited); its open findings resolve, the recorded values stay."""
    _locked_project(item.project, by)
    for finding in Finding.objects.select_for_update().filter(
        subject_type=SUBJECT_TYPE, subject_id__startswith=f"{item.pk}:", resolved_at=None
    ):
        finding_close(finding, f"{item.name} was taken off the monitoring plan.", actor=by)
    model_delete(instance=item, fields=PLAN_FIELDS, by=by, action="monitoring.plan_item_removed")
