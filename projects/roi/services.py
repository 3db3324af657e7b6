"""The only code that writes the ROI ledger and the FX rates. Each function is one transaction with its
audit events. Amounts are converted into the reporting currency when they are written, with the FX
rate of their currency and month; an amount whose rate is missing is refused, never guessed."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import ConflictError, DomainError, PermissionDeniedError
from core.roles import is_admin
from core.services import NOT_EDITABLE, model_delete, model_update

from ..models import AIProject, FxRate, ROIEntry, ROIEntryDeletion
from ..permissions import can_change_project
from .figures import month_start, to_reporting
from .rollup import roi_rollup_refresh

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
ALREADY_RESTORED = "This entry was already restored."
RESTORE_KEY_TAKEN = (
    "Not restored: {entry} was logged since (by {by}), and restoring would overwrite it. Change that entry instead."
)
DUPLICATE_KEY = "{project} already has an entry for {month}, {basis} {kind}, {category}; change that entry instead."


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
    roi_rollup_refresh(cells=[(entry.project_id, entry.month)])
    audit.record(actor=by, action="roi_entry.created", obj=entry, after=audit.snapshot(entry, ROI_FIELDS))
    return entry


def _normalised(fields: dict) -> dict:
    """Months as their first day, currency codes in capitals: what the ledger stores."""
    values = dict(fields)
    if values.get("month"):
        values["month"] = month_start(values["month"])
    if values.get("currency"):
        values["currency"] = values["currency"].upper()
    return values


def _checked_candidate(entry: ROIEntry, project: AIProject, values: dict) -> ROIEntry:
    """The entry as `values` would leave it, validated before anything is written: fields first, then
    the ledger key (one entry per key), then the conversion (which refuses a missing FX rate)."""
    candidate = copy.copy(entry)
    for name, value in values.items():
        setattr(candidate, name, value)
    candidate.full_clean(validate_unique=False, validate_constraints=False)
    if _key_taken(candidate):
        raise ValidationError({"__all__": [_duplicate_message(project, candidate)]})
    candidate.amount_reporting = convert(amount=candidate.amount, currency=candidate.currency, month=candidate.month)
    return candidate


@transaction.atomic
def roi_entry_update(*, by, entry: ROIEntry, **fields) -> ROIEntry:
    """Change an entry's editable fields; its reporting amount is re-converted at the current rate.

    The writer becomes the entry's `logged_by` (the person answerable for the figure as it now stands)
    only when the figure changes: someone re-saving the same figure writes nothing."""
    project = AIProject.objects.select_for_update().get(pk=entry.project_id)
    entry = ROIEntry.objects.select_for_update().get(pk=entry.pk)
    _check_writer(by, project)
    unknown = set(fields) - set(ROI_EDITABLE)
    if unknown:
        raise ValidationError({name: [NOT_EDITABLE] for name in sorted(unknown)})
    values = _normalised(fields)
    candidate = _checked_candidate(entry, project, values)
    values["amount_reporting"] = candidate.amount_reporting
    was = (entry.project_id, entry.month)  # an edit may move the entry to another month: both cells change
    figure_changes = audit.snapshot(entry, values) != audit.snapshot(candidate, values)
    if by is not None and figure_changes:
        values["logged_by"] = by
    entry, _ = model_update(
        instance=entry, fields=(*ROI_EDITABLE, "amount_reporting", "logged_by"), data=values, by=by,
        action="roi_entry.updated",
    )  # fmt: skip
    roi_rollup_refresh(cells=[was, (entry.project_id, entry.month)])
    return entry


@transaction.atomic
def roi_entry_delete(*, by, entry: ROIEntry) -> ROIEntryDeletion:
    """Delete an entry (logged by mistake), keeping it in a deletion record so that it can be restored
    (roi_entry_restore). Both the deletion and the record are in the same transaction as the audit event."""
    project = AIProject.objects.select_for_update().get(pk=entry.project_id)
    entry = ROIEntry.objects.select_for_update().get(pk=entry.pk)
    _check_writer(by, project)
    deletion = ROIEntryDeletion.objects.create(
        project=project, entry_id=entry.pk, entry=_kept(entry), deleted_by=by, deleted_at=timezone.now()
    )
    model_delete(instance=entry, fields=ROI_FIELDS, by=by, action="roi_entry.deleted")
    roi_rollup_refresh(cells=[(project.pk, entry.month)])
    return deletion


def _kept(entry: ROIEntry) -> dict:
    """What a restore needs to write the entry again, as JSON."""
    return {
        "month": entry.month.isoformat(), "kind": entry.kind, "category": entry.category, "basis": entry.basis,
        "amount": str(entry.amount), "currency": entry.currency, "evidence_url": entry.evidence_url,
        "note": entry.note, "logged_by": entry.logged_by_id,
    }  # fmt: skip


@transaction.atomic
def roi_entry_restore(*, by, deletion: ROIEntryDeletion) -> ROIEntry:
    """Undo a deletion: write the entry back as it was (under its old id), converted at the current rate.

    Never overwrites: if someone logged an entry with the same key (project, month, kind, category,
    basis) since, the restore is refused and their figure stays; a deletion is restored at most once."""
    project = AIProject.objects.select_for_update().get(pk=deletion.project_id)
    deletion = ROIEntryDeletion.objects.select_for_update().get(pk=deletion.pk)
    _check_writer(by, project)
    if deletion.restored_at is not None:
        raise ConflictError(ALREADY_RESTORED)
    entry = deletion.as_entry
    taken = ROIEntry.objects.filter(
        project=project, month=entry.month, kind=entry.kind, category=entry.category, basis=entry.basis
    ).first()
    if taken is not None:
        raise ConflictError(RESTORE_KEY_TAKEN.format(entry=taken_label(taken), by=_person(taken.logged_by)))
    if not ROIEntry.objects.filter(pk=deletion.entry_id).exists():
        entry.pk = deletion.entry_id  # the audit trail's earlier events name this id
    entry.amount_reporting = convert(amount=entry.amount, currency=entry.currency, month=entry.month)
    entry.full_clean(validate_unique=False, validate_constraints=False)
    entry.save(force_insert=True)
    roi_rollup_refresh(cells=[(entry.project_id, entry.month)])
    deletion.restored_at, deletion.restored_by = timezone.now(), by
    deletion.save(update_fields=["restored_at", "restored_by"])
    audit.record(
        actor=by, action="roi_entry.restored", obj=entry,
        after={**audit.snapshot(entry, ROI_FIELDS), "deleted_at": deletion.deleted_at.isoformat()},
    )  # fmt: skip
    return entry


def taken_label(entry: ROIEntry) -> str:
    """ "the actual Claims savings entry of EUR 142,500 for Nov 2026" """
    return (
        f"the {entry.get_basis_display().lower()} {entry.get_category_display()} entry of "
        f"{money_text(entry.amount, entry.currency)} for {month_text(entry.month)}"
    )


def money_text(amount: Decimal, currency: str) -> str:
    """EUR 142,500 (whole amounts) or EUR 1,234.50: how the pages say an amount."""
    amount = Decimal(amount)
    digits = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{currency} {digits}"


def month_text(month: dt.date) -> str:
    return f"{month:%b %Y}"


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
    _lock_projects_using(currency=currency, month=month)
    fx = FxRate.objects.select_for_update().filter(currency=currency, month=month).first()
    if fx is None:
        fx = _fx_rate_create(by=by, currency=currency, month=month, rate=rate)
    else:
        fx, changed = _fx_rate_change(by=by, fx=fx, rate=rate)
        if not changed:
            return fx  # same rate: no write, no audit event
    stored_rate = Decimal(audit.snapshot(fx, ["rate"])["rate"])  # at the stored precision, as the trail says it
    _reconvert(by=by, currency=currency, month=month, rate=stored_rate)
    return fx


def _lock_projects_using(*, currency: str, month: dt.date) -> None:
    """Lock the projects with entries in this currency and month (pk order) before anything else: every
    ledger write takes its project first, then its entry, then the audit chain's lock, so an FX change
    that took the audit lock (its own event) or the entries before the projects would deadlock with an
    entry's edit; and the roll-up refresh of the re-converted cells needs these locks anyway."""
    using = ROIEntry.objects.filter(currency=currency, month=month).values("project_id")
    list(AIProject.objects.select_for_update().filter(pk__in=using).order_by("pk").values_list("pk", flat=True))


def _fx_rate_create(*, by, currency: str, month: dt.date, rate: Decimal) -> FxRate:
    fx = FxRate(currency=currency, month=month, rate=rate, updated_by=by, updated_at=timezone.now())
    fx.full_clean(validate_unique=False)
    fx.save()
    audit.record(actor=by, action="fx_rate.created", obj=fx, after=audit.snapshot(fx, FX_FIELDS))
    return fx


def _fx_rate_change(*, by, fx: FxRate, rate: Decimal) -> tuple[FxRate, bool]:
    """A new rate (at the stored precision) is a change; the same rate set again by someone else is not."""
    if audit.snapshot(FxRate(rate=rate), ["rate"]) == audit.snapshot(fx, ["rate"]):
        return fx, False
    data = {"rate": rate, "updated_by": by}
    fx, _ = model_update(instance=fx, fields=tuple(data), data=data, by=by, action="fx_rate.updated")
    # The time of the change is the audit event's own; the row keeps it too, without repeating it in the trail.
    fx.updated_at = timezone.now()
    fx.save(update_fields=["updated_at"])
    return fx, True


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
        roi_rollup_refresh(cells={(e.project_id, e.month) for e in changed})
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
    model_delete(instance=fx, fields=FX_FIELDS, by=by, action="fx_rate.deleted")


def _person(user) -> str:
    return user.get_full_name() or user.username
