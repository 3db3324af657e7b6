"""Datasets and their columns written by a person, for systems without an OpenLineage producer: registered
by hand (a form) or imported from a CSV data inventory.

    inventory_parse(data)                            the CSV's rows, or InventoryRefused with every row's errors
    inventory_import(by=, rows=, apply_kinds=, ...)  create what is missing; one transaction, one audit event
    dataset_register(by=, namespace=, name=, ...)    one dataset and its columns, by the same path

The CSV format (README "Data inventory import"; a template is downloadable from the DPO's workspace):
a header row, then one row per column (a row with an empty `field` stands for the dataset itself)::

    namespace,name,field,data_type,description,pii_kind,owner
    postgres://crm:5432,crm.public.customers,email,varchar,Login and contact address,email,dpo

Only `namespace` and `name` are required; `dataset_type` may be added. Every row is validated first
and any error refuses the whole file, listing each error by its line number, so a rejected file
changes nothing. What exists is kept: a known dataset or column is not duplicated, a column's empty
type or description is filled in, an owner is set only on a dataset that has none. `pii_kind` is a
suggestion for the DPO to confirm unless the importer ticks "apply": then it is a person's assertion
(by the importer), propagated at once.
"""

from __future__ import annotations

import csv
import dataclasses
import io

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import audit, spreadsheets
from core.errors import DomainError, PermissionDeniedError
from core.roles import Role

from ..models import Classification, Dataset, DatasetField, DataSource, Origin
from . import services, store, taxonomy

COLUMNS = ("namespace", "name", "field", "data_type", "description", "pii_kind", "owner", "dataset_type")
REQUIRED = ("namespace", "name")
TEMPLATE_ROWS = [
    ("postgres://crm-db:5432", "crm.public.customers", "", "", "", "", "dpo", "TABLE"),
    ("postgres://crm-db:5432", "crm.public.customers", "customer_id", "bigint", "Surrogate key", "", "", ""),
    ("postgres://crm-db:5432", "crm.public.customers", "email", "varchar", "Login and contact address", "email", "",
     ""),
    ("postgres://crm-db:5432", "crm.public.customers", "birth_date", "date", "", "date_of_birth", "", ""),
]  # fmt: skip
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20000
LIMITS = {"namespace": 500, "name": 1000, "field": 500, "data_type": 200, "description": 2000, "dataset_type": 50}

NOT_CSV = "The file is not UTF-8 text: save the inventory as CSV (UTF-8)."
TOO_BIG = "The file is {size} bytes; a data inventory may be at most {limit} bytes (split it)."
NO_HEADER = "The file has no header row: the first line must name the columns, e.g. {header}."
MISSING_COLUMNS = "The header lacks the column(s) {missing}; it must have {required} (and may have {optional})."
UNKNOWN_COLUMNS = "Unknown column(s) in the header: {unknown}. Known columns: {known}."
EMPTY = "The file has no rows below its header."
TOO_MANY_ROWS = "The file has {n} rows; import at most {limit} at once (split it)."


class InventoryRefused(DomainError):
    """The whole inventory refused: `errors` lists every problem, each with its line number."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"Nothing was imported: {len(errors)} problem(s). " + " ".join(errors[:20]), field="file")


@dataclasses.dataclass
class Row:
    line: int
    namespace: str
    name: str
    field: str = ""
    data_type: str = ""
    description: str = ""
    pii_kind: str = ""
    owner: str = ""
    dataset_type: str = ""


@dataclasses.dataclass
class ImportResult:
    datasets_created: int = 0
    fields_created: int = 0
    fields_updated: int = 0
    owners_set: int = 0
    suggested: int = 0
    asserted: int = 0
    datasets: set[int] = dataclasses.field(default_factory=set)

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "datasets"}


def _header(reader_fields) -> list[str]:
    if not reader_fields or not any((h or "").strip() for h in reader_fields):
        raise InventoryRefused([NO_HEADER.format(header=",".join(COLUMNS[:7]))])
    header = [(h or "").strip().lower() for h in reader_fields]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InventoryRefused([MISSING_COLUMNS.format(missing=", ".join(missing), required=", ".join(REQUIRED),
                                                       optional=", ".join(COLUMNS[2:]))])  # fmt: skip
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise InventoryRefused([UNKNOWN_COLUMNS.format(unknown=", ".join(unknown), known=", ".join(COLUMNS))])
    return header


def inventory_parse(data: bytes) -> list[Row]:
    """The rows of a CSV inventory (syntax and limits only; inventory_import validates the values)."""
    if len(data) > MAX_BYTES:
        raise InventoryRefused([TOO_BIG.format(size=len(data), limit=MAX_BYTES)])
    try:
        text = spreadsheets.csv_text(data)
    except spreadsheets.SpreadsheetRefused:
        raise InventoryRefused([NOT_CSV]) from None
    # a record may be the header or one of MAX_ROWS rows; blank lines are read (and timed) but not counted
    records = spreadsheets.csv_records(text, spreadsheets.Bounds.from_settings(rows=MAX_ROWS + 1))
    try:
        first = next(records, None)
        header = _header(first[1] if first else None)
        rows: list[Row] = []
        for line, values in records:
            if not any(v.strip() for v in values):
                continue  # blank lines between blocks are harmless
            if len(rows) >= MAX_ROWS:
                raise InventoryRefused([TOO_MANY_ROWS.format(n=f"more than {MAX_ROWS}", limit=MAX_ROWS)])
            cells = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}
            rows.append(Row(line=line, **cells))
    except spreadsheets.SpreadsheetRefused as exc:
        raise InventoryRefused([exc.message]) from None
    if not rows:
        raise InventoryRefused([EMPTY])
    return rows


def _owners(rows: list[Row]) -> dict[str, object]:
    names = {r.owner for r in rows if r.owner}
    users = get_user_model().objects.filter(is_active=True, groups__name__in=Role.values).distinct()
    found = {u.username.lower(): u for u in users.filter(username__in=names)}
    found.update({u.email.lower(): u for u in users.filter(email__in=names) if u.email})
    return found


def _validate(rows: list[Row], apply_kinds: bool) -> tuple[list[str], dict[str, object]]:
    """Every row's problems, and the owners by name; empty errors = the file may be imported."""
    errors: list[str] = []
    owners = _owners(rows)
    seen: dict[tuple[str, str, str], int] = {}
    dataset_owner: dict[tuple[str, str], tuple[str, int]] = {}
    for r in rows:
        where = f"Line {r.line}"
        for col in REQUIRED:
            if not getattr(r, col):
                errors.append(f"{where}: `{col}` is empty; every row names its dataset by namespace and name.")
        for col, limit in LIMITS.items():
            value = getattr(r, col)
            if len(value) > limit:
                errors.append(f"{where}: `{col}` is {len(value)} characters long; at most {limit}.")
            if any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
                errors.append(f"{where}: `{col}` holds a control character.")
        if r.pii_kind:
            try:
                r.pii_kind = taxonomy.resolve(r.pii_kind)
            except taxonomy.UnknownPIIKind as exc:
                errors.append(f"{where}: {exc}")
            if not r.field and not apply_kinds:
                errors.append(f"{where}: a `pii_kind` on the dataset itself (no `field`) can only be applied: tick "
                              "“apply the pii_kind column”, or name the column it is in.")  # fmt: skip
        if r.owner and r.owner.lower() not in owners:
            errors.append(f"{where}: no active Keel user with a role is called {r.owner!r} (username or email).")
        if r.owner:
            first = dataset_owner.setdefault((r.namespace, r.name), (r.owner.lower(), r.line))
            if first[0] != r.owner.lower():
                errors.append(f"{where}: owner {r.owner!r} differs from {first[0]!r} on line {first[1]} for the "
                              "same dataset; a dataset has one owner.")  # fmt: skip
        key = (r.namespace, r.name, r.field)
        if key in seen and r.field:
            errors.append(f"{where}: column {r.field!r} of {r.name} is listed again (first on line {seen[key]}).")
        seen.setdefault(key, r.line)
    return errors, owners


def _dataset(r: Row, result: ImportResult, now) -> Dataset:
    source, _ = DataSource.objects.get_or_create(namespace=r.namespace, defaults={"created_at": now})
    ds, created = Dataset.objects.get_or_create(
        namespace=r.namespace, name=r.name,
        defaults={"source": source, "dataset_type": r.dataset_type.upper(), "first_seen_at": now, "updated_at": now},
    )  # fmt: skip
    result.datasets_created += created
    result.datasets.add(ds.pk)
    return ds


def _column(ds: Dataset, r: Row, result: ImportResult, apply_kinds: bool) -> DatasetField:
    f, created = DatasetField.objects.get_or_create(
        dataset=ds, name=r.field, defaults={"data_type": r.data_type, "description": r.description}
    )
    result.fields_created += created
    changed = []
    if not created:
        for col in ("data_type", "description"):
            if getattr(r, col) and not getattr(f, col):
                setattr(f, col, getattr(r, col))
                changed.append(col)
    if r.pii_kind and not apply_kinds and f.suggested_pii_kind != r.pii_kind:
        f.suggested_pii_kind = r.pii_kind
        changed.append("suggested_pii_kind")
        result.suggested += 1
    if changed:
        f.save(update_fields=changed)
        result.fields_updated += not created
    return f


def _assert(by, ds: Dataset, f: DatasetField | None, kind: str, note: str) -> Classification | None:
    exists = Classification.objects.filter(
        dataset=ds, field=f, pii_kind=kind, origin=Origin.MANUAL, derived_from__isnull=True
    ).exists()
    if exists:
        return None
    root = services.manual_root(by=by, dataset_id=ds.pk, field=f, kind=kind, note=note)
    root.save()
    return root


@transaction.atomic
def inventory_import(*, by, rows: list[Row], apply_kinds: bool = False, source: str = "",
                     action: str = "dataset.inventory_imported") -> ImportResult:  # fmt: skip
    """Create the datasets and columns the rows name (see the module's docstring); all or nothing."""
    if not services._can_classify(by):
        raise PermissionDeniedError(services.NOT_A_CLASSIFIER)
    errors, owners = _validate(rows, apply_kinds)
    if errors:
        raise InventoryRefused(errors)
    store.lock()
    now = timezone.now()
    result = ImportResult()
    roots: list[int] = []
    note = f"From the data inventory {source}".strip() + "."
    datasets: dict[tuple[str, str], Dataset] = {}
    for r in rows:
        ds = datasets.get((r.namespace, r.name)) or _dataset(r, result, now)
        datasets[(r.namespace, r.name)] = ds
        if r.owner and ds.owner_id is None:
            ds.owner, ds.updated_at = owners[r.owner.lower()], now
            ds.save(update_fields=["owner", "updated_at"])
            result.owners_set += 1
        f = _column(ds, r, result, apply_kinds) if r.field else None
        if r.pii_kind and apply_kinds:
            root = _assert(by, ds, f, r.pii_kind, note)
            if root is not None:
                roots.append(root.pk)
                result.asserted += 1
    outcome = store.recompute(roots)
    audit.record(actor=by, action=action, object_type="governance.dataset",
                 object_id=",".join(map(str, sorted(result.datasets)))[:100],
                 after={**result.summary(), "source": source, "rows": len(rows), "applied_kinds": apply_kinds,
                        "propagated": outcome.summary()})  # fmt: skip
    services.obligations_after(outcome, result.datasets)
    return result


def dataset_register(*, by, namespace: str, name: str, dataset_type: str = "", columns: list[tuple[str, str, str]],
                     owner=None) -> ImportResult:  # fmt: skip
    """One dataset and its columns (name, type, description), registered by hand: the import's rules."""
    owner_name = owner.username if owner is not None else ""
    rows = [Row(line=1, namespace=(namespace or "").strip(), name=(name or "").strip(), owner=owner_name,
                dataset_type=(dataset_type or "").strip())]  # fmt: skip
    rows += [
        Row(line=i, namespace=rows[0].namespace, name=rows[0].name, field=c[0].strip(), data_type=c[1].strip(),
            description=c[2].strip())
        for i, c in enumerate(columns, start=2)
    ]  # fmt: skip
    return inventory_import(by=by, rows=rows, action="dataset.registered")


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue()
