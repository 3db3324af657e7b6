"""An API list page's reverse-foreign-key prefetches, run without Django's prefetch machinery (issue #15).

A page of 50 risks prefetches their mitigations, a page of 50 model versions the aliases each holds
(`Prefetch("deployments", queryset=..., to_attr=...)`). Django builds that query anew for every page: a
`risk__in=<50 instances>` filter (each instance's key read through the field, the lookup built and
resolved), then its own bookkeeping (a related manager made per instance to find the prefetcher, the
rows grouped through generic accessors): 0.5-1 ms of a page's CPU, for one query whose rows are few.

`lean_page(queryset)` is `lean(queryset, reuse_sql=True)` whose page, once loaded, runs such prefetches
itself: the same query (the Prefetch's queryset filtered as Django filters it, `<fk>__in` the page's keys
in page order), compiled once per query state and number of keys (the keys are the only parameters that
change from page to page), its rows made by LeanModelIterable, each row's foreign key pointed at its page
instance as Django points it, and the page instance's `to_attr` set to its rows in the query's order.
Only a plain case is taken: every lookup of the queryset a one-level `Prefetch` with a queryset and a
`to_attr` over a reverse foreign key to the primary key, the queryset unsliced and prefetching nothing
itself; with any other lookup Django runs them all. tests/core/test_page_prefetch.py holds the results to
Django's.
"""

from __future__ import annotations

import copy

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor

from core import queries


class PageIterable(queries._ReusedSqlIterable):
    """The page's instances (as _ReusedSqlIterable makes them), then, when every prefetch lookup of the
    queryset is a plain one, those lookups run here and the queryset is marked as prefetched (what
    QuerySet._fetch_all checks before it calls prefetch_related_objects). Its lookups stay as they were, so a
    queryset made from it later prefetches as any other. With any other lookup, Django runs them all."""

    def __iter__(self):
        objs = list(super().__iter__())
        queryset = self.queryset
        lookups = queryset._prefetch_related_lookups
        if objs and lookups and not queryset._prefetch_done:
            model = type(objs[0])
            targets = [getattr(lookup, "prefetch_to", lookup) for lookup in lookups]
            fields = [_plain_field(model, lookup) for lookup in lookups]
            plain = None not in fields and len(set(targets)) == len(targets)  # a lookup named twice: Django's
            if plain and all(type(obj) is model for obj in objs) and _unique_keys(objs):
                for lookup, field in zip(lookups, fields, strict=True):
                    _prefetch(objs, lookup, field)
                queryset._prefetch_done = True
        yield from objs


def lean_page(queryset: QuerySet) -> QuerySet:
    """`lean(queryset, reuse_sql=True)`, its plain reverse prefetches run by PageIterable."""
    lean = queries.lean(queryset, reuse_sql=True)
    if lean._iterable_class is queries._ReusedSqlIterable:
        lean._iterable_class = PageIterable
    return lean


def _plain_field(model, lookup):
    """The foreign key (on the related model) of a lookup this module may run, else None."""
    if not isinstance(lookup, Prefetch) or lookup.queryset is None or not lookup.to_attr:
        return None
    through = lookup.prefetch_through
    if LOOKUP_SEP in through or lookup.prefetch_to != lookup.to_attr or hasattr(model, lookup.to_attr):
        return None
    descriptor = model.__dict__.get(through)
    if type(descriptor) is not ReverseManyToOneDescriptor:
        return None
    field = descriptor.field
    rel_qs = lookup.queryset
    if rel_qs.query.is_sliced or rel_qs._prefetch_related_lookups or rel_qs._result_cache is not None:
        return None
    if len(field.foreign_related_fields) != 1 or not field.foreign_related_fields[0].primary_key:
        return None
    try:  # Django refuses a to_attr that names a field: let it say so
        model._meta.get_field(lookup.to_attr)
    except FieldDoesNotExist:
        return field
    return None


def _unique_keys(objs: list) -> bool:
    keys = [obj.pk for obj in objs]
    return None not in keys and len(set(keys)) == len(keys)


def _prefetch(objs: list, lookup, field) -> None:
    """Run the plain `lookup` (over the foreign key `field`) for the page's instances `objs`."""
    keys = [obj.pk for obj in objs]
    rel_qs = lookup.queryset
    db = rel_qs._db or objs[0]._state.db
    rows = _rows(rel_qs.using(db), field.name, keys, db)
    by_key: dict = {}
    attname = field.attname
    for rel_obj in rows:
        by_key.setdefault(getattr(rel_obj, attname), []).append(rel_obj)
    by_pk = dict(zip(keys, objs, strict=True))
    for key, group in by_key.items():
        instance = by_pk[key]
        for rel_obj in group:
            if not field.is_cached(rel_obj):
                field.set_cached_value(rel_obj, instance)
    to_attr = lookup.to_attr
    for key, obj in by_pk.items():
        if "_prefetched_objects_cache" not in obj.__dict__:  # as prefetch_related_objects leaves every instance
            obj._prefetched_objects_cache = {}
        setattr(obj, to_attr, by_key.get(key, []))


def _rows(rel_qs: QuerySet, field_name: str, keys: list, db: str) -> list:
    """The rows of `rel_qs` filtered on `field_name__in=keys` as Django's prefetch filters them (the query
    made and compiled once per state of `rel_qs` and number of keys; later pages swap their keys in)."""
    state = queries._state_key(rel_qs.query, db)
    key = None if state is None else ("in", field_name, len(keys), *state)
    entry = None if key is None else queries._COMPILED.get(key)
    if entry is None:
        filtered = rel_qs._chain()
        filtered.query.add_q(Q(**{f"{field_name}__in": keys}), reuse_all=True)
        compiler = filtered.query.get_compiler(using=db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # nothing to run: as Django answers it
            return list(filtered)
        entry = (compiler, sql, tuple(params), _only_run(tuple(params), tuple(keys)))
        if key is not None and entry[3] is not None:
            queries._remember(key, entry)
    first, sql, params, at = entry
    if at is not None:
        params = (*params[:at], *keys, *params[at + len(keys) :])
    reused = copy.copy(first)
    reused.connection = connections[db]
    reused.as_sql = lambda: (sql, params)
    return list(_Precompiled(rel_qs, reused))


def _only_run(params: tuple, keys: tuple) -> int | None:
    """Where `keys` stand in `params`, if they stand there once, else None (then nothing is kept)."""
    n = len(keys)
    found = [i for i in range(len(params) - n + 1) if params[i : i + n] == keys]
    return found[0] if len(found) == 1 else None


class _Precompiled(queries.LeanModelIterable):
    """LeanModelIterable over a compiler made beforehand."""

    def __init__(self, queryset: QuerySet, compiler):
        super().__init__(queryset)
        self.compiler = compiler

    def compiler_for(self, queryset, db):
        return self.compiler
