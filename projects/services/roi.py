"""The only code that writes the ROI ledger and the FX rates. Each function is one transaction with its
audit events. Amounts are converted into the reporting currency when they are written, with the FX
rate of their currency and month; an amount whose rate is missing is refused, never guessed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.roles import Role, has_role, is_admin

from ..models import CATEGORIES_BY_KIND, AIProject, FxRate, RoiBasis, RoiCategory, ROIEntry, RoiKind
from ..permissions import can_change_project
from ..roi import month_start, to_reporting
from ..roi_import import ImportRow, month_from_cell

ROI_FIELDS = (
    "project", "month", "kind", "category", "basis", "amount", "currency", "amount_reporting",
    "evidence_url", "note", "logged_by",
)  # fmt: skip
ROI_EDITABLE = ("month", "kind", "category", "basis", "amount", "currency", "evidence_url", "note")
FX_FIELDS = ("currency", "month", "rate", "updated_by")

NOT_YOUR_PROJECT = "Only the lead of the project's team or an admin can log or change its ROI entries."
ROI_WRITERS_ONLY = "Only team leads and admins can log ROI entries."
FX_ADMIN_ONLY = "Only admins can set FX rates."
NO_FX_RATE = (
    "There is no FX rate for {currency} in {month}, so the amount cannot be converted into {reporting}."
    " An admin must set the {currency} rate for {month} first."
)
FX_FOR_REPORTING = "{currency} is the reporting currency: 1 {currency} is always 1 {currency}, it needs no rate."
FX_RATE_IN_USE = (
    "{count} ROI entr(y/ies) in {currency} for {month} use this rate; set a new rate instead of deleting it."
)
DUPLICATE_KEY = "{project} already has an entry for {month}, {basis} {kind}, {category}; change that entry instead."
IMPORT_INVALID = "{bad} of {total} rows are invalid; nothing was saved. Correct them and upload the file again."
IMPORT_EMPTY = "There are no rows to import."
REPEATED_KEY = "Line {first} already has the same project, month, kind, category and basis."
WRONG_PROJECT = (
    "This upload is for project {expected!r}; the line names {given!r}. Leave the column blank or use {expected!r}."
)
UNKNOWN_PROJECT = "Unknown project {slug!r}, or not a project of a team you lead."
PROJECT_REQUIRED = "Name the project by its slug."
BAD_MONTH = "Give the month as YYYY-MM (e.g. 2026-11)."
BAD_CHOICE = "{value!r} is not a {what}. Choose one of: {choices}."
BAD_CATEGORY_FOR_KIND = "{category!r} is not a {kind} category. {kind} categories: {choices}."
BAD_AMOUNT = "Give the amount as a plain number with at most 2 decimals, e.g. 1234.50 (no thousands separators)."
NEGATIVE_AMOUNT = "The amount cannot be negative; log a cost as kind 'cost' with a positive amount."
AMOUNT_TOO_LARGE = "The amount is too large (at most 999,999,999,999.99)."
BAD_CURRENCY = "Use a three-letter ISO 4217 code such as EUR or USD."
BAD_URL = "Give the evidence link as a full http(s) URL, or leave it blank."
NOTE_TOO_LONG = "Keep the note under {limit} characters."
REQUIRED = "This field is required."

NOTE_LIMIT = 2000
MAX_AMOUNT = Decimal("999999999999.99")
_url_validator = URLValidator(schemes=["http", "https"])


def reporting_currency() -> str:
    return settings.KEEL_REPORTING_CURRENCY


def can_log_roi(user, project: AIProject) -> bool:
    """Team leads of the project's team and admins; risk officers and executives only read."""
    return can_change_project(user, project)


def _check_writer(by, project: AIProject) -> None:
    if by is not None and not can_log_roi(by, project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)


def _rates_for(pairs: Iterable[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], Decimal]:
    """FX rates for (currency, month) pairs, in one query; the reporting currency is 1."""
    wanted = {(c, m) for c, m in pairs if c != reporting_currency()}
    if not wanted:
        return {}
    rows = FxRate.objects.filter(currency__in={c for c, _ in wanted}, month__in={m for _, m in wanted}).values_list(
        "currency", "month", "rate"
    )
    return {(c, m): r for c, m, r in rows if (c, m) in wanted}


def convert(*, amount: Decimal, currency: str, month: dt.date, rates: Mapping | None = None) -> Decimal:
    """The amount in the reporting currency, with the rate of (currency, month). Refuses a missing rate."""
    if currency == reporting_currency():
        return Decimal(amount).quantize(Decimal("0.01"))
    month = month_start(month)
    if rates is None:
        rates = _rates_for([(currency, month)])
    rate = rates.get((currency, month))
    if rate is None:
        raise ValidationError({"currency": [no_rate_message(currency, month)]})
    return to_reporting(amount, rate)


def no_rate_message(currency: str, month: dt.date) -> str:
    return NO_FX_RATE.format(currency=currency, month=f"{month:%Y-%m}", reporting=reporting_currency())


def _duplicate_message(project: AIProject, entry: ROIEntry) -> str:
    return DUPLICATE_KEY.format(
        project=project.name, basis=entry.basis, kind=entry.kind, category=entry.category, month=f"{entry.month:%Y-%m}"
    )


def _key_taken(entry: ROIEntry) -> bool:
    return (
        ROIEntry.objects.filter(
            project_id=entry.project_id, month=entry.month, kind=entry.kind, category=entry.category, basis=entry.basis
        )
        .exclude(pk=entry.pk)
        .exists()
    )


@transaction.atomic
def roi_entry_create(
    *,
    by,
    project: AIProject,
    month: dt.date,
    kind: str,
    category: str,
    basis: str,
    amount: Decimal,
    currency: str = "",
    evidence_url: str = "",
    note: str = "",
    logged_by=None,
) -> ROIEntry:
    """Log one amount. `currency` defaults to the project's business-case currency; `by=None` is the
    system (seeding), which then names the person in `logged_by`."""
    project = AIProject.objects.select_for_update().get(pk=project.pk)  # one writer per project key at a time
    _check_writer(by, project)
    entry = ROIEntry(
        project=project,
        month=month_start(month) if month else month,
        kind=kind,
        category=category,
        basis=basis,
        amount=amount,
        currency=(currency or project.currency).upper(),
        evidence_url=evidence_url,
        note=note,
        logged_by=by if by is not None else logged_by,
    )
    entry.amount_reporting = Decimal("0")
    entry.full_clean(validate_unique=False, validate_constraints=False)
    if _key_taken(entry):
        raise ValidationError({"__all__": [_duplicate_message(project, entry)]})
    entry.amount_reporting = convert(amount=entry.amount, currency=entry.currency, month=entry.month)
    entry.save()
    audit.record(actor=by, action="roi_entry.created", obj=entry, after=audit.snapshot(entry, ROI_FIELDS))
    return entry


@transaction.atomic
def roi_entry_update(*, by, entry: ROIEntry, **fields) -> ROIEntry:
    """Change an entry's editable fields; its reporting amount is re-converted at the current rate."""
    project = AIProject.objects.select_for_update().get(pk=entry.project_id)
    entry = ROIEntry.objects.select_for_update().get(pk=entry.pk)
    _check_writer(by, project)
    unknown = set(fields) - set(ROI_EDITABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    before = audit.snapshot(entry, ROI_FIELDS)
    for name, value in fields.items():
        if name == "month" and value:
            value = month_start(value)
        if name == "currency" and value:
            value = value.upper()
        setattr(entry, name, value)
    entry.full_clean(validate_unique=False, validate_constraints=False)
    if _key_taken(entry):
        raise ValidationError({"__all__": [_duplicate_message(project, entry)]})
    entry.amount_reporting = convert(amount=entry.amount, currency=entry.currency, month=entry.month)
    if by is not None:
        entry.logged_by = by  # the person answerable for the figure as it now stands
    old, new = audit.changes(before, audit.snapshot(entry, ROI_FIELDS))
    if not (set(new) - {"logged_by"}):
        return ROIEntry.objects.get(pk=entry.pk)  # nothing changed: no write, no audit event
    entry.save()
    audit.record(actor=by, action="roi_entry.updated", obj=entry, before=old, after=new)
    return entry


@transaction.atomic
def roi_entry_delete(*, by, entry: ROIEntry) -> None:
    project = AIProject.objects.select_for_update().get(pk=entry.project_id)
    entry = ROIEntry.objects.select_for_update().get(pk=entry.pk)
    _check_writer(by, project)
    before = audit.snapshot(entry, ROI_FIELDS)
    pk = entry.pk
    entry.delete()
    audit.record(
        actor=by, action="roi_entry.deleted", object_type="projects.roientry", object_id=str(pk), before=before
    )


@transaction.atomic
def roi_entry_log(
    *, by, project: AIProject, month: dt.date, kind: str, category: str, basis: str, **values
) -> ROIEntry:
    """The log form's write: set the amount of one (project, month, kind, category, basis) key, creating
    the entry or changing the one already there (logging a figure again corrects it)."""
    project = AIProject.objects.select_for_update().get(pk=project.pk)
    values["currency"] = values.get("currency") or project.currency
    existing = ROIEntry.objects.filter(
        project=project, month=month_start(month), kind=kind, category=category, basis=basis
    ).first()
    if existing is None:
        return roi_entry_create(
            by=by, project=project, month=month, kind=kind, category=category, basis=basis, **values
        )
    return roi_entry_update(by=by, entry=existing, **values)


# --- FX rates -----------------------------------------------------------------------------------


@transaction.atomic
def fx_rate_set(*, by, currency: str, month: dt.date, rate: Decimal) -> FxRate:
    """Set (create or change) the rate of one currency for one month, and re-convert every ROI entry in
    that currency and month, so reporting amounts always follow the rate table. Admins only."""
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(FX_ADMIN_ONLY)
    currency = (currency or "").strip().upper()
    if currency == reporting_currency():
        raise ValidationError({"currency": [FX_FOR_REPORTING.format(currency=currency)]})
    month = month_start(month) if isinstance(month, dt.date) else month
    fx = FxRate.objects.select_for_update().filter(currency=currency, month=month).first()
    created = fx is None
    if created:
        fx = FxRate(currency=currency, month=month)
    before = {} if created else audit.snapshot(fx, FX_FIELDS)
    fx.rate = rate
    fx.updated_by = by
    fx.updated_at = timezone.now()
    fx.full_clean(validate_unique=False)
    after = audit.snapshot(fx, FX_FIELDS)
    old, new = audit.changes(before, after)
    if not created and not (set(new) - {"updated_by"}):
        return fx  # same rate: no write, no audit event
    fx.save()
    audit.record(
        actor=by, action="fx_rate.created" if created else "fx_rate.updated", obj=fx,
        before=None if created else old, after=after if created else new,
    )  # fmt: skip
    _reconvert(by=by, currency=currency, month=month, rate=Decimal(after["rate"]))
    return fx


def _reconvert(*, by, currency: str, month: dt.date, rate: Decimal) -> int:
    trail, changed = [], []
    for entry in ROIEntry.objects.select_for_update().filter(currency=currency, month=month).order_by("pk"):
        value = to_reporting(entry.amount, rate)
        if value != entry.amount_reporting:
            trail.append(
                audit.entry(
                    actor=by,
                    action="roi_entry.reconverted",
                    obj=entry,
                    before={"amount_reporting": audit.json_value(entry.amount_reporting)},
                    after={"amount_reporting": audit.json_value(value), "rate": str(rate)},
                )
            )
            entry.amount_reporting = value
            changed.append(entry)
    if changed:
        ROIEntry.objects.bulk_update(changed, ["amount_reporting", "updated_at"], batch_size=500)
        audit.record_many(trail)
    return len(changed)


@transaction.atomic
def fx_rate_delete(*, by, fx: FxRate) -> None:
    """Delete a rate no entry uses (a mistyped currency or month). Admins only."""
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(FX_ADMIN_ONLY)
    fx = FxRate.objects.select_for_update().get(pk=fx.pk)
    count = ROIEntry.objects.filter(currency=fx.currency, month=fx.month).count()
    if count:
        raise DomainError(FX_RATE_IN_USE.format(count=count, currency=fx.currency, month=f"{fx.month:%Y-%m}"))
    before = audit.snapshot(fx, FX_FIELDS)
    pk = fx.pk
    fx.delete()
    audit.record(actor=by, action="fx_rate.deleted", object_type="projects.fxrate", object_id=str(pk), before=before)


# --- import (file upload and API bulk) ----------------------------------------------------------


class RoiImportError(DomainError):
    """At least one row is bad; `rows` lists every bad one: [{"line": n, "errors": {field: [messages]}}]."""

    code = "invalid_rows"

    def __init__(self, message: str, rows: list[dict]):
        super().__init__(message)
        self.rows = rows


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    entries: list[ROIEntry] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class _Clean:
    line: int
    project: AIProject
    month: dt.date
    kind: str
    category: str
    basis: str
    amount: Decimal
    currency: str
    evidence_url: str
    note: str

    @property
    def key(self) -> tuple:
        return (self.project.pk, self.month, self.kind, self.category, self.basis)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _choice(value: Any) -> str:
    return _text(value).lower().replace(" ", "_").replace("-", "_")


def _amount(value: Any) -> Decimal | str:
    """A Decimal, or the error message."""
    if isinstance(value, bool):
        return BAD_AMOUNT
    if isinstance(value, float):
        # A spreadsheet's computed cell (110.00000000000001) is the cents it displays.
        exact = Decimal(repr(value))
        cents = exact.quantize(Decimal("0.01")) if exact.is_finite() else exact
        value = str(cents if abs(exact - cents) < Decimal("1e-9") else exact)
    text = _text(value)
    if not text:
        return REQUIRED
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return BAD_AMOUNT
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        return BAD_AMOUNT
    if amount < 0:
        return NEGATIVE_AMOUNT
    if amount > MAX_AMOUNT:
        return AMOUNT_TOO_LARGE
    return amount


def _clean_row(row: ImportRow, *, fixed: AIProject | None, projects_by_slug: dict[str, AIProject]):
    """(_Clean, None) or (None, {field: [messages]})."""
    v = row.values
    errors: dict[str, list[str]] = {}
    slug = _text(v.get("project"))
    project = None
    if fixed is not None:
        if slug and slug != fixed.slug:
            errors["project"] = [WRONG_PROJECT.format(expected=fixed.slug, given=slug)]
        project = fixed
    elif not slug:
        errors["project"] = [PROJECT_REQUIRED]
    else:
        project = projects_by_slug.get(slug)
        if project is None:
            errors["project"] = [UNKNOWN_PROJECT.format(slug=slug)]

    month = month_from_cell(v.get("month"))
    if month is None:
        errors["month"] = [BAD_MONTH if _text(v.get("month")) else REQUIRED]

    kind = _choice(v.get("kind"))
    if kind not in RoiKind.values:
        errors["kind"] = [BAD_CHOICE.format(value=_text(v.get("kind")), what="kind", choices=", ".join(RoiKind.values))]
    category = _choice(v.get("category"))
    if category not in RoiCategory.values:
        errors["category"] = [
            BAD_CHOICE.format(value=_text(v.get("category")), what="category", choices=", ".join(RoiCategory.values))
        ]
    elif kind in CATEGORIES_BY_KIND and category not in CATEGORIES_BY_KIND[kind]:
        errors["category"] = [
            BAD_CATEGORY_FOR_KIND.format(category=category, kind=kind, choices=", ".join(CATEGORIES_BY_KIND[kind]))
        ]
    basis = _choice(v.get("basis"))
    if basis not in RoiBasis.values:
        errors["basis"] = [
            BAD_CHOICE.format(value=_text(v.get("basis")), what="basis", choices=", ".join(RoiBasis.values))
        ]

    amount = _amount(v.get("amount"))
    if isinstance(amount, str):
        errors["amount"] = [amount]

    currency = _text(v.get("currency")).upper() or (project.currency if project is not None else "")
    if project is not None and (len(currency) != 3 or not currency.isascii() or not currency.isalpha()):
        errors["currency"] = [BAD_CURRENCY]

    evidence_url = _text(v.get("evidence_url"))
    if evidence_url:
        try:
            _url_validator(evidence_url)
        except ValidationError:
            errors["evidence_url"] = [BAD_URL]
        if len(evidence_url) > ROIEntry._meta.get_field("evidence_url").max_length:
            errors["evidence_url"] = [BAD_URL]
    note = _text(v.get("note"))
    if len(note) > NOTE_LIMIT:
        errors["note"] = [NOTE_TOO_LONG.format(limit=NOTE_LIMIT)]

    if errors:
        return None, errors
    return _Clean(row.line, project, month, kind, category, basis, amount, currency, evidence_url, note), None


def _values_changed(entry: ROIEntry, clean: _Clean, amount_reporting: Decimal) -> dict[str, Any]:
    wanted = {
        "amount": clean.amount,
        "currency": clean.currency,
        "amount_reporting": amount_reporting,
        "evidence_url": clean.evidence_url,
        "note": clean.note,
    }
    return {f: v for f, v in wanted.items() if getattr(entry, f) != v}


@transaction.atomic
def roi_entries_import(
    *, project_or_none: AIProject | None, rows: Sequence[ImportRow], by, logged_by=None
) -> ImportResult:
    """Save many rows at once, all or nothing: every row is validated first, every bad row is reported
    with its line, and nothing is saved if any is bad. Rows upsert on (project, month, kind, category,
    basis): an identical row is a no-op, a changed one updates the entry, so the same file twice does
    not double. With `project_or_none` every row belongs to that project (its project column may be
    blank); without it each row names its project by slug. `by=None` is the system (seeding), which
    names the person in `logged_by`."""
    logger = by if by is not None else logged_by
    if logger is None:
        raise ValueError("roi_entries_import needs the person who logs the rows (by or logged_by)")
    if by is not None and not (is_admin(by) or has_role(by, Role.TEAM_LEAD)):
        raise PermissionDeniedError(ROI_WRITERS_ONLY)
    if project_or_none is not None:
        _check_writer(by, project_or_none)
    if not rows:
        raise DomainError(IMPORT_EMPTY)

    # Projects: the fixed one, or those the rows name that the caller may write (others read as unknown).
    if project_or_none is not None:
        projects = list(AIProject.objects.select_for_update().filter(pk=project_or_none.pk))
        fixed = projects[0]
    else:
        slugs = {_text(r.values.get("project")) for r in rows} - {""}
        candidates = AIProject.objects.select_related("team").filter(slug__in=slugs)
        projects = [p for p in candidates if by is None or can_log_roi(by, p)]
        fixed = None
    projects_by_slug = {p.slug: p for p in projects}

    bad: dict[int, dict[str, list[str]]] = {}
    cleaned: list[_Clean] = []
    first_line_of: dict[tuple, int] = {}
    for row in rows:
        clean, errors = _clean_row(row, fixed=fixed, projects_by_slug=projects_by_slug)
        if errors:
            bad[row.line] = errors
            continue
        if clean.key in first_line_of:
            bad[row.line] = {"__all__": [REPEATED_KEY.format(first=first_line_of[clean.key])]}
            continue
        first_line_of[clean.key] = row.line
        cleaned.append(clean)

    rates = _rates_for((c.currency, c.month) for c in cleaned)
    converted: dict[int, Decimal] = {}
    for clean in cleaned:
        try:
            converted[clean.line] = convert(
                amount=clean.amount, currency=clean.currency, month=clean.month, rates=rates
            )
        except ValidationError:
            bad.setdefault(clean.line, {})["currency"] = [no_rate_message(clean.currency, clean.month)]

    if bad:
        report = [{"line": line, "errors": bad[line]} for line in sorted(bad)]
        raise RoiImportError(IMPORT_INVALID.format(bad=len(bad), total=len(rows)), report)

    if fixed is None and projects:
        # Lock the projects named, in a stable order, so two imports of one project cannot both insert.
        list(AIProject.objects.select_for_update().filter(pk__in=[p.pk for p in projects]).order_by("pk"))
    existing = {
        (e.project_id, e.month, e.kind, e.category, e.basis): e
        for e in ROIEntry.objects.select_for_update().filter(
            project_id__in={c.project.pk for c in cleaned}, month__in={c.month for c in cleaned}
        )
    }
    result = ImportResult()
    to_create: list[ROIEntry] = []
    to_update: list[ROIEntry] = []
    trail: list[dict] = []
    for clean in cleaned:
        amount_reporting = converted[clean.line]
        entry = existing.get(clean.key)
        if entry is None:
            entry = ROIEntry(
                project=clean.project,
                month=clean.month,
                kind=clean.kind,
                category=clean.category,
                basis=clean.basis,
                amount=clean.amount,
                currency=clean.currency,
                amount_reporting=amount_reporting,
                evidence_url=clean.evidence_url,
                note=clean.note,
                logged_by=logger,
            )
            to_create.append(entry)
            result.created += 1
        else:
            changed = _values_changed(entry, clean, amount_reporting)
            if not changed:
                result.unchanged += 1
                result.entries.append(entry)
                continue
            before = audit.snapshot(entry, [*changed, "logged_by"])
            for name, value in changed.items():
                setattr(entry, name, value)
            entry.logged_by = logger
            entry.updated_at = timezone.now()
            old, new = audit.changes(before, audit.snapshot(entry, [*changed, "logged_by"]))
            trail.append(audit.entry(actor=by, action="roi_entry.updated", obj=entry, before=old, after=new))
            to_update.append(entry)
            result.updated += 1
        result.entries.append(entry)
    if to_create:
        ROIEntry.objects.bulk_create(to_create, batch_size=500)
        trail[:0] = [
            audit.entry(actor=by, action="roi_entry.created", obj=e, after=audit.snapshot(e, ROI_FIELDS))
            for e in to_create
        ]
    if to_update:
        ROIEntry.objects.bulk_update(
            to_update, ["amount", "currency", "amount_reporting", "evidence_url", "note", "logged_by", "updated_at"],
            batch_size=500,
        )  # fmt: skip
    if trail:
        audit.record_many(trail)
    return result
