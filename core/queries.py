"""Query-building helpers that every app's selectors use."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import inspect
import io
import json
import operator
import pickle
import threading
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, JSONField, Model, Prefetch, QuerySet, Subquery, Value
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone


def count_subquery(qs: QuerySet) -> QuerySet:
    """A one-value subquery counting `qs` (which must be filtered on an OuterRef), for Subquery(...)."""
    return qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")


class PlainColumns:
    """For the few reads every API request makes (its token with its user): the ORM spends several times
    longer building such a query than the database spends answering it.

    The columns of a model as one plain SELECT reads them (qualified by `alias`), and how to turn the
    values of those columns, at `offset` in a row, back into an instance as the ORM would."""

    def __init__(self, model, alias: str, fields: tuple[str, ...] | None, offset: int = 0):
        concrete = [f for f in model._meta.concrete_fields if fields is None or f.attname in fields or f.primary_key]
        quote = connection.ops.quote_name
        self.model = model
        self.sql = ", ".join(f"{alias}.{quote(f.column)}" for f in concrete)
        self.names = [f.attname for f in concrete]
        self.span = (offset, offset + len(concrete))
        self.converters = []
        for i, f in enumerate(concrete):
            expression = f.get_col(model._meta.db_table)
            convert = connection.ops.get_db_converters(expression) + f.get_db_converters(connection)
            if convert:
                self.converters.append((i, expression, convert))

    def instance(self, row):
        values = list(row[self.span[0] : self.span[1]])
        for i, expression, convert in self.converters:
            for converter in convert:
                values[i] = converter(values[i], expression, connection)
        return self.model.from_db(connection.alias, self.names, values)


_PLAIN_COLUMNS: dict = {}


def plain_columns(model, alias: str, fields: tuple[str, ...] | None = None, offset: int = 0) -> PlainColumns:
    """PlainColumns, built once per shape and database vendor."""
    key = (model, alias, fields, offset, connection.vendor)
    if key not in _PLAIN_COLUMNS:
        _PLAIN_COLUMNS[key] = PlainColumns(model, alias, fields, offset)
    return _PLAIN_COLUMNS[key]


@contextlib.contextmanager
def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> Iterator:
    """Django's cursor for a statement every request runs (an API token's read, a lineage POST's insert).
    On PostgreSQL it binds values on the server, so psycopg prepares the statement from its fifth run on a
    connection (DATABASES OPTIONS prepare_threshold, config/settings.py) and the server plans it once:
    Django's cursors bind on the client, and planning the token's four-table read cost the server several
    times what executing it does (0.15-0.21 ms against 0.03, measured with psycopg on this machine). A value
    bound on the server is also not spelled into the statement as a literal for the server to scan:
    core.bulk_insert's one JSON document of 500 rows (half a megabyte) went in 30 % faster so.
    Elsewhere, and where queries are logged (DEBUG, a test counting them: Django's log reads the SQL off a
    client-binding cursor), it is the ordinary cursor."""
    db = connections[using]
    if db.vendor != "postgresql" or db.queries_logged:
        with db.cursor() as cursor:
            yield cursor
        return
    with _server_cursor(db) as cursor:
        yield cursor


def _server_cursor(db):
    """A cursor of `db` (PostgreSQL) binding on the server: what connection.cursor() does with the cursor it
    creates (thread and transaction checks, the debug wrapper where queries are logged), around one that binds
    on the server, so that psycopg prepares a statement run again and again."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.ensure_connection()
    with db.wrap_database_errors:
        return db._prepare_cursor(ServerBindingCursor(db.connection))


def _prepares(compiler) -> bool:
    """Whether a reused compiler's statement (_compiled) runs prepared: on PostgreSQL, where queries are not
    logged, a statement without parameters (an executive's or a risk officer's unfiltered page: the same text
    on every request, so one plan fits every run). Planning a list's page query cost the server 0.15-0.6 ms a
    request (ROI entries: 3.40 -> 2.73 ms of server CPU prepared; findings 0.37 -> 0.23)."""
    db = compiler.connection
    return (
        getattr(compiler, "keel_sql", None) is not None
        and not compiler.keel_sql[1]
        and db.vendor == "postgresql"
        and not db.queries_logged
    )


def _execute_prepared(compiler, chunk_size):
    """compiler.execute_sql() of a whole result, its statement run by a server-binding cursor (_prepares).
    Django's execute_sql asks the connection for its cursor: for this one call the connection (this thread's
    own) hands it the server-binding one."""
    db = compiler.connection
    cursor = _server_cursor(db)
    db.cursor = lambda: cursor
    try:
        return compiler.execute_sql(chunked_fetch=False, chunk_size=chunk_size)
    finally:
        del db.cursor
        cursor.close()


# --- lean instances for list pages ---------------------------------------------------------------------


class _LeanBuilder:
    """Stands in for a model class where ModelIterable and RelatedPopulator call `model_cls.from_db`: the
    same instance, made without Model.__init__ (see LeanModelIterable)."""

    def __init__(self, model):
        self.model = model

    def from_db(self, db, field_names, values):
        obj = self.model.__new__(self.model)
        state = ModelState()
        state.adding = False
        state.db = db
        attrs = obj.__dict__
        attrs["_state"] = state
        attrs.update(zip(field_names, values, strict=True))
        return obj


_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


def instance_builder(model, field_names):
    """What makes instances of `model` from these columns' values (`.from_db(db, field_names, values)`): a
    _LeanBuilder where _leanable holds (the same instance without Model.__init__), else the model itself."""
    return _LeanBuilder(model) if _leanable(model, field_names) else model


def _leanable(model, field_names) -> bool:
    """Whether Model.from_db would do no more than set these attributes in the instance's __dict__: the
    model's own from_db and __init__, no init signal receiver, and each field a plain (deferred) attribute
    or a foreign key's id, whose setter only drops a cached related object, of which a new instance has
    none."""
    if model.from_db.__func__ is not Model.from_db.__func__ or model.__init__ is not Model.__init__:
        return False
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return False
    key = (model, *field_names)
    plain = _PLAIN_FIELDS.get(key)
    if plain is None:  # looked up once per model and columns (getattr_static: ~5 us a field, 50 a page)
        plain = _PLAIN_FIELDS[key] = all(
            type(inspect.getattr_static(model, name, None)) in _PLAIN_ATTRIBUTES for name in field_names
        )
    return plain


_PLAIN_FIELDS: dict[tuple, bool] = {}  # (model, *field names) -> whether each is a plain attribute


class LeanModelIterable(ModelIterable):
    """ModelIterable whose instances (and their select_related ones) are made without Model.__init__.

    A list page of 50 rows with three related rows each made 200 instances through Model.__init__'s
    generic path (two signals sent, every field set through setattr): about a fifth of a page's CPU
    (issue #15). Where `_leanable` holds for a model and the columns read, the instance gets the
    __dict__ Model.from_db gives it, set directly; anything else loads as before. The loop is
    ModelIterable.__iter__'s (Django 5.2) with the model classes swapped for _LeanBuilder;
    tests/core/test_lean_instances.py holds the instances to the ORM's.
    """

    reuse_sql = False  # True: the query compiled once per state (_compiled)

    def __iter__(self):
        queryset = self.queryset
        db = queryset.db
        compiler = self.compiler_for(queryset, db)
        compiler.get_converters = _quick_converters(compiler.get_converters, connections[db])
        if not self.chunked_fetch and _prepares(compiler):
            results = _execute_prepared(compiler, self.chunk_size)
        else:
            results = compiler.execute_sql(chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size)
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        model_cls = klass_info["model"]
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        builder = _LeanBuilder(model_cls) if _leanable(model_cls, init_list) else model_cls
        related_populators = get_related_populators(klass_info, select, db)
        _swap_builders(related_populators)
        known_related_objects = [
            (
                field,
                related_objs,
                operator.attrgetter(
                    *[
                        field.attname if from_field == "self" else queryset.model._meta.get_field(from_field).attname
                        for from_field in field.from_fields
                    ]
                ),
            )
            for field, related_objs in queryset._known_related_objects.items()
        ]
        for row in compiler.results_iter(results):
            obj = builder.from_db(db, init_list, row[start:end])
            for rel_populator in related_populators:
                rel_populator.populate(row, obj)
            if annotation_col_map:
                for attr_name, col_pos in annotation_col_map.items():
                    setattr(obj, attr_name, row[col_pos])
            for field, rel_objs, rel_getter in known_related_objects:
                if field.is_cached(obj):  # loaded by select_related()
                    continue
                try:
                    rel_obj = rel_objs[rel_getter(obj)]
                except KeyError:
                    pass
                else:
                    setattr(obj, field.name, rel_obj)
            yield obj

    def compiler_for(self, queryset, db):
        return _compiled(queryset.query, db) if self.reuse_sql else queryset.query.get_compiler(using=db)


def _quick_converters(get_converters, db):
    """The compiler's get_converters, with the two converters a read of many rows spends most in swapped for
    ones that return the same values with less on the way: a JSON column's text goes straight to json.loads
    (JSONField.from_db_value without a decoder of its own), and SQLite's time (a datetime the driver parsed,
    or text for datetime.fromisoformat) is made aware in the connection's zone by datetime.replace (what
    parse_datetime and make_aware come down to; anything else goes to Django's converter). A registry sync
    reads its 2,000 stored versions so: 8,000 times and 8,000 JSON values (tests/core/test_lean_instances.py
    holds the values to the ORM's)."""
    sqlite_time = getattr(type(db.ops), "convert_datetimefield_value", None) if db.vendor == "sqlite" else None
    zone = db.timezone if settings.USE_TZ else None

    def quick(convert):
        target = getattr(convert, "__func__", None)
        if target is JSONField.from_db_value and convert.__self__.decoder is None:
            return _json_text(convert)
        if target is not None and target is sqlite_time:
            return _sqlite_time(convert, zone)
        return convert

    def get(expressions):
        return {i: ([quick(c) for c in convs], e) for i, (convs, e) in get_converters(expressions).items()}

    return get


_scan_json = json.JSONDecoder().scan_once  # json.loads without its whitespace checks around the value


def _json_text(convert):
    def value(text, expression, db):
        if text.__class__ is not str:
            return convert(text, expression, db)
        try:
            decoded, end = _scan_json(text, 0)
        except (StopIteration, json.JSONDecodeError):
            end = -1
        if end == len(text):
            return decoded
        try:  # whitespace around the value, or not JSON: as JSONField.from_db_value answers
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    return value


def _sqlite_time(convert, zone):
    def value(moment, expression, db):
        if moment.__class__ is str:  # the driver parses a column declared datetime; an expression's is text
            try:
                moment = dt.datetime.fromisoformat(moment)
            except ValueError:
                return convert(moment, expression, db)
        elif moment.__class__ is not dt.datetime:
            return convert(moment, expression, db)
        return moment.replace(tzinfo=zone) if zone is not None and moment.utcoffset() is None else moment

    return value


def _swap_builders(populators) -> None:
    for populator in populators:
        if _leanable(populator.model_cls, populator.init_list):
            populator.model_cls = _LeanBuilder(populator.model_cls)
        _swap_builders(populator.related_populators)


class _ReusedSqlIterable(LeanModelIterable):
    reuse_sql = True


def lean(queryset: QuerySet, *, reuse_sql: bool = False) -> QuerySet:
    """The queryset, its instances and those of its Prefetch querysets made by LeanModelIterable (unless
    one yields something else: values(), values_list(), or a custom iterable); with `reuse_sql`, their SQL
    compiled once for every evaluation of a query in the same state (_compiled: for queries read again and
    again, such as an API list's page and its prefetches)."""
    if queryset._iterable_class is not ModelIterable:
        return queryset
    clone = queryset._chain()
    clone._iterable_class = _ReusedSqlIterable if reuse_sql else LeanModelIterable
    lookups = []
    for lookup in clone._prefetch_related_lookups:
        if isinstance(lookup, Prefetch) and lookup.queryset is not None:
            lookup = copy.copy(lookup)  # the caller's Prefetch stays as it was
            lookup.queryset = lean(lookup.queryset, reuse_sql=reuse_sql)
        lookups.append(lookup)
    clone._prefetch_related_lookups = tuple(lookups)
    return clone


# --- SQL compiled once per query state -----------------------------------------------------------------


class _Unkeyable(Exception):
    """The query holds something its key must not be made from."""


def _instance(model, pk):  # what a model instance stands for in a key (never called: keys are not unpickled)
    raise NotImplementedError


class _StatePickler(pickle.Pickler):
    """Pickles a query's state for its key. Refuses a QuerySet inside it (pickling one runs it). A model
    instance counts as its class and primary key: a lookup compares with the values it took from the
    instance when it was made (a prefetch's `risk__in=<50 risks>` holds their ids, and the instances
    themselves only as the arguments it was made with, which do not reach the SQL); pickled whole, they
    made the key of a 50-row prefetch 26 KB and 3 ms long."""

    def reducer_override(self, obj):
        if isinstance(obj, Model):
            return _instance, (type(obj), obj.pk)
        if isinstance(obj, QuerySet):
            raise _Unkeyable
        return NotImplemented


def _state_key(query, alias: str) -> tuple | None:
    """What the SQL of `query` depends on: its whole state (every filter and value, the columns, joins,
    ordering, limits: pickled), the database, and the two settings Django reads while compiling (USE_TZ,
    to adapt datetimes; the current time zone, for date functions). None if the state does not pickle."""
    buffer = io.BytesIO()
    try:
        _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(query)
    except Exception:
        return None
    return alias, settings.USE_TZ, timezone.get_current_timezone_name(), buffer.getvalue()


_COMPILED: dict[tuple, tuple] = {}  # state key -> (compiler after as_sql, sql, params), or (sql, params) of a count
_COMPILED_MAX = 256  # entries; then the cache starts over (a team lead's scope or a filter's value is a new key)
_COMPILED_LOCK = threading.Lock()


def _remember(key: tuple, entry: tuple) -> None:
    with _COMPILED_LOCK:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = entry


def _compiled(query, db: str):
    """`query`'s compiler for execute_sql and results_iter, with its SQL made once per query state.

    Compiling an API list's page query took 0.5-1 ms of a 50-row page (select_related columns, deferred
    fields, joins, ordering), the same SQL for every request of the same page by the same reader (issue #15).
    A query in the same state (`_state_key`: everything it holds, pickled, so equal keys mean equal queries)
    compiles to the same SQL and parameters, so the compiler that compiled it first is reused: a copy of it
    on this thread's connection, its `as_sql` answering the SQL made then. execute_sql and results_iter only
    read what as_sql set up (the columns, the related-objects plan, the converters), never change it."""
    compiler = query.get_compiler(using=db)
    key = _state_key(query, db)
    if key is None:
        return compiler
    entry = _COMPILED.get(key)
    if entry is None:
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # nothing to run: execute_sql answers it, from a fresh compiler
            return query.get_compiler(using=db)
        entry = (compiler, sql, tuple(params))
        _remember(key, entry)
    first, sql, params = entry
    reused = copy.copy(first)
    reused.query, reused.connection = query, compiler.connection
    reused.as_sql = lambda: (sql, params)
    reused.keel_sql = (sql, params)
    return reused


def count(queryset: QuerySet) -> int:
    """`queryset.count()`, its SQL made once per query state for a queryset made by `lean(..., reuse_sql=True)`
    (an API list's page count: Django clones the query, turns it into an aggregate and compiles that on every
    call, 0.2-0.5 ms). The first count of a state runs as Django runs it and its one statement is kept; the
    next ones run that statement. A count that runs no statement (an empty `__in`) or more than one is left
    to Django every time."""
    if not issubclass(queryset._iterable_class, _ReusedSqlIterable) or queryset._result_cache is not None:
        return queryset.count()
    db = queryset.db
    key = _state_key(queryset.query, db)
    if key is None:
        return queryset.count()
    key = ("count", *key)
    entry = _COMPILED.get(key)
    conn = connections[db]
    if entry is None:
        statements = []

        def keep(execute, sql, params, many, context):
            statements.append((sql, params, many))
            return execute(sql, params, many, context)

        with conn.execute_wrapper(keep):
            n = queryset.count()
        if len(statements) == 1 and not statements[0][2]:
            _remember(key, (statements[0][0], tuple(statements[0][1] or ())))
        return n
    sql, params = entry
    with prepared_cursor(db) if not params else conn.cursor() as cursor:  # (_prepares)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    # What Django's get_aggregation makes of the row: no row is the empty count, a value goes through int().
    return 0 if row is None else None if row[0] is None else int(row[0])


def ids_first(sliced: QuerySet) -> QuerySet:
    """A page (`queryset[a:b]`) selected as the ids of that slice (a subquery: `WHERE pk IN (SELECT pk ... ORDER BY
    ... LIMIT)`), then the rows of those ids in the same order: the same rows, in the same order, in one query.

    For a page whose ordering an index cannot give: the database sorts every candidate row before it knows
    which 50 it keeps. SQLite fetched each candidate's whole row and its joined rows into that sort; ROI entries'
    page (the newest month's ~2,000 entries by project slug) took 3.1 ms in SQLite, its ids alone from a covering
    index 0.8 ms with the rows of the 50 (issue #15)."""
    page = sliced.values("pk")
    whole = sliced._chain()
    whole.query.clear_limits()
    return whole.filter(pk__in=Subquery(page))
