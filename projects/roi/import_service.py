"""The ROI import service (file upload and API bulk): every row is checked first, and either all rows
are written, each with its audit event, or nothing is and every bad row is named with its reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core import audit
from core.dates import validate_month
from core.errors import DomainError, PermissionDeniedError
from core.roles import Role, has_role, is_admin

from ..models import CATEGORIES_BY_KIND, AIProject, RoiBasis, RoiCategory, ROIEntry, RoiKind
from .importer import ImportRow, month_from_cell
from .rollup import roi_rollup_refresh
from .services import ROI_FIELDS, ROI_WRITERS_ONLY, _check_writer, _rates_for, can_log_roi, convert, no_rate_message

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
    else:
        try:
            validate_month(month)
        except ValidationError as exc:
            errors["month"] = exc.messages

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
    logger = _import_logger(project_or_none=project_or_none, rows=rows, by=by, logged_by=logged_by)
    projects, fixed = _import_projects(project_or_none=project_or_none, rows=rows, by=by)
    cleaned, bad = _validate_rows(rows, fixed=fixed, projects_by_slug={p.slug: p for p in projects})
    converted = _convert_rows(cleaned, bad)
    if bad:
        report = [{"line": line, "errors": bad[line]} for line in sorted(bad)]
        raise RoiImportError(IMPORT_INVALID.format(bad=len(bad), total=len(rows)), report)
    existing = _lock_existing(cleaned, projects=projects, fixed=fixed)
    return _upsert_rows(cleaned, converted=converted, existing=existing, by=by, logger=logger)


def _import_logger(*, project_or_none: AIProject | None, rows: Sequence[ImportRow], by, logged_by):
    """Who the rows are logged by, once the caller is known to be allowed to import at all."""
    logger = by if by is not None else logged_by
    if logger is None:
        raise ValueError("roi_entries_import needs the person who logs the rows (by or logged_by)")
    if by is not None and not (is_admin(by) or has_role(by, Role.TEAM_LEAD)):
        raise PermissionDeniedError(ROI_WRITERS_ONLY)
    if project_or_none is not None:
        _check_writer(by, project_or_none)
    if not rows:
        raise DomainError(IMPORT_EMPTY)
    return logger


def _import_projects(
    *, project_or_none: AIProject | None, rows: Sequence[ImportRow], by
) -> tuple[list[AIProject], AIProject | None]:
    """The projects rows may go to: the fixed one (locked), or those the rows name that the caller may
    write (others read as unknown). Returns them and the fixed one, if any."""
    if project_or_none is not None:
        projects = list(AIProject.objects.select_for_update().filter(pk=project_or_none.pk))
        return projects, projects[0]
    slugs = {_text(r.values.get("project")) for r in rows} - {""}
    candidates = AIProject.objects.select_related("team").filter(slug__in=slugs)
    return [p for p in candidates if by is None or can_log_roi(by, p)], None


def _validate_rows(
    rows: Sequence[ImportRow], *, fixed: AIProject | None, projects_by_slug: dict[str, AIProject]
) -> tuple[list[_Clean], dict[int, dict[str, list[str]]]]:
    """Clean every row; a row with errors, or repeating an earlier row's key, goes to the bad ones by line."""
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
    return cleaned, bad


def _convert_rows(cleaned: list[_Clean], bad: dict[int, dict[str, list[str]]]) -> dict[int, Decimal]:
    """Each clean row's amount in the reporting currency, by line; a row without a rate is added to `bad`."""
    rates = _rates_for((c.currency, c.month) for c in cleaned)
    converted: dict[int, Decimal] = {}
    for clean in cleaned:
        try:
            converted[clean.line] = convert(
                amount=clean.amount, currency=clean.currency, month=clean.month, rates=rates
            )
        except ValidationError:
            bad.setdefault(clean.line, {})["currency"] = [no_rate_message(clean.currency, clean.month)]
    return converted


def _lock_existing(
    cleaned: list[_Clean], *, projects: list[AIProject], fixed: AIProject | None
) -> dict[tuple, ROIEntry]:
    """Lock the projects named (in a stable order, so two imports of one project cannot both insert)
    and the entries the rows may update; returns those entries by their natural key."""
    if fixed is None and projects:
        list(AIProject.objects.select_for_update().filter(pk__in=[p.pk for p in projects]).order_by("pk"))
    return {
        (e.project_id, e.month, e.kind, e.category, e.basis): e
        for e in ROIEntry.objects.select_for_update().filter(
            project_id__in={c.project.pk for c in cleaned}, month__in={c.month for c in cleaned}
        )
    }


def _upsert_rows(
    cleaned: list[_Clean], *, converted: dict[int, Decimal], existing: dict[tuple, ROIEntry], by, logger
) -> ImportResult:
    """Insert the new entries, update the changed ones, leave the identical ones; audit every write."""
    result = ImportResult()
    to_create: list[ROIEntry] = []
    to_update: list[ROIEntry] = []
    trail: list[dict] = []
    for clean in cleaned:
        amount_reporting = converted[clean.line]
        entry = existing.get(clean.key)
        if entry is None:
            entry = _new_entry(clean, amount_reporting=amount_reporting, logger=logger)
            to_create.append(entry)
            result.created += 1
        else:
            changed = _values_changed(entry, clean, amount_reporting)
            if not changed:
                result.unchanged += 1
                result.entries.append(entry)
                continue
            trail.append(_change_entry(entry, changed, by=by, logger=logger))
            to_update.append(entry)
            result.updated += 1
        result.entries.append(entry)
    _save_entries(to_create=to_create, to_update=to_update, trail=trail, by=by)
    return result


def _new_entry(clean: _Clean, *, amount_reporting: Decimal, logger) -> ROIEntry:
    return ROIEntry(
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


def _change_entry(entry: ROIEntry, changed: dict[str, Any], *, by, logger) -> dict:
    """Set the changed values on the entry (now logged by `logger`); returns its audit entry."""
    before = audit.snapshot(entry, [*changed, "logged_by"])
    for name, value in changed.items():
        setattr(entry, name, value)
    entry.logged_by = logger
    entry.updated_at = timezone.now()
    old, new = audit.changes(before, audit.snapshot(entry, [*changed, "logged_by"]))
    return audit.entry(actor=by, action="roi_entry.updated", obj=entry, before=old, after=new)


def _save_entries(*, to_create: list[ROIEntry], to_update: list[ROIEntry], trail: list[dict], by) -> None:
    """Write in bulk; the created entries' audit events go first, once they have ids."""
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
    if to_create or to_update:
        roi_rollup_refresh(cells={(e.project_id, e.month) for e in (*to_create, *to_update)})
    if trail:
        audit.record_many(trail)
