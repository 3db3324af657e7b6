"""Bulk writes of the registry sync: few statements however many rows, only the changed columns."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection

from core.bulk_insert import insert_many

BULK_BATCH = 500


def bulk_insert(model, objs: list) -> None:
    """INSERT in bulk with the primary keys set on the objects (PostgreSQL, SQLite >= 3.35), else one by one."""
    if not objs:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        insert_many(model, objs, batch_size=BULK_BATCH)
    else:
        for obj in objs:
            obj.save(force_insert=True)


def bulk_update_changed(model, changes: list[tuple]) -> None:
    """UPDATE only each object's changed columns: one bulk UPDATE per set of changed columns."""
    groups: dict[tuple, list] = defaultdict(list)
    for obj, fields in changes:
        groups[tuple(sorted(fields))].append(obj)
    for fields, objs in groups.items():
        model.objects.bulk_update(objs, fields, batch_size=BULK_BATCH)


def bulk_set(model, objs: list, **values) -> None:
    pks = [obj.pk for obj in objs]
    for i in range(0, len(pks), BULK_BATCH):
        model.objects.filter(pk__in=pks[i : i + BULK_BATCH]).update(**values)
