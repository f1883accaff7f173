"""Hot reads compiled once: building and compiling an ORM queryset costs a millisecond or more of Python (several
with subqueries), often more than the database takes to answer it. A `Prepared` query is built by the area's own
ORM code once per process and database, with stand-in values for what changes from call to call; each call puts
the call's values in the stand-ins' places among the parameters and runs the same SQL.

    record_of = Prepared(ReadingRecord, lambda doctor, page: ReadingRecord.objects.filter(
        doctor_id=doctor, page_id=page).order_by("pk")[:1], doctor=int, page=int)
    record = record_of.first(doctor=user.pk, page=page.pk)

On PostgreSQL the statement is also planned once per connection: `planned_cursor` sends it with server-side binding
as a prepared statement (planning a query with a few joins and subqueries took ~0.5 ms, several times what running
it took). `DB_PREPARE=0` turns that off (for a pooler in transaction mode, which cannot keep prepared statements).

Stand-ins are distinctive values of the declared type (int, str or datetime; a datetime is compared as the database
adapts it). Building fails loudly when a stand-in does not reach the parameters unchanged (a lookup that transforms
its value, such as `__contains`), so a query can never run with a stand-in left in it.
"""

import functools
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

_numbers = itertools.count(1)

# The largest id an integer key column holds: a larger value read from a request names no row (and would make the
# database refuse the statement), so callers answer "not found" without asking.
INT_PK_MAX = 2**31 - 1


def planned_cursor(connection: BaseDatabaseWrapper):
    """A cursor of `connection` (Django's cursor wrapper: query logging, error wrapping) whose statements PostgreSQL
    plans once per connection and then only executes: server-side binding, each statement prepared on its first
    run and reused by its text. For hot statements whose text never changes (a `Prepared` query, a service's
    hand-written statement); Django's own cursors bind on the client and are never prepared. Elsewhere, or with
    prepared statements turned off (`prepare_threshold` None), an ordinary cursor."""
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        return connection.cursor()
    # Django's create_cursor with another cursor class (its timezone handling repeated); `cursor()` otherwise.
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, Format, register_tzloader  # PostgreSQL only

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor_class, debug_wrapper = _preparing_cursor_classes()
        cursor = cursor_class(connection.connection)
        if connection.timezone != connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
            register_tzloader(connection.timezone, cursor)
        connection.validate_thread_sharing()
        return debug_wrapper(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


@functools.cache
def _preparing_cursor_classes():
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor  # PostgreSQL only

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, **options):
            options.setdefault("prepare", True)
            return super().execute(query, params, **options)

    class DebugWrapper(CursorDebugWrapper):
        # A prepared statement's text is not kept by psycopg: the log shows the statement with its placeholders.
        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            return super().debug_sql(sql, params, use_last_executed_query=False, many=many)

    return PreparingCursor, DebugWrapper


def returned_instances(model, cursor, rows: list, using: str = "default", *, statement: str = "") -> list:
    """Instances of `model` from the rows of a hand-written statement that returned its columns (`RETURNING *`, or
    any subset of them by column name): each value through its field's converters, as the ORM reads it. The
    table's column order need not be the model's (a column added by a later migration comes last). `statement`
    (its text) lets the columns be learnt once per statement instead of from every result's description."""
    connection = connections[using]
    key = (model, statement or tuple(column.name for column in cursor.description), using)
    if key not in _returned_shapes:
        columns = [column.name for column in cursor.description]
        position = {name: index for index, name in enumerate(columns)}
        # Model.from_db takes the values in the order of the model's fields
        fields = [field for field in model._meta.concrete_fields if field.column in position]
        order = [position[field.column] for field in fields]
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                converters.append((index, column, found))
        _returned_shapes[key] = ([field.attname for field in fields], order, converters)
    names, order, converters = _returned_shapes[key]
    found = []
    for row in rows:
        values = [row[index] for index in order]
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
        found.append(model.from_db(using, names, values))
    return found


_returned_shapes: dict[tuple, tuple[list[str], list[int], list]] = {}


def _stand_in(kind: type, ops):
    n = next(_numbers)
    if kind is int:
        return -2_000_000_000 - n * 7919, None
    if kind is str:
        return f"~prepared stand-in {n}~", None
    if kind is datetime:
        value = datetime(1970, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(microseconds=n * 7919)
        return value, ops.adapt_datetimefield_value(value)
    raise TypeError(f"no stand-in for {kind!r}")


class _Compiled:
    """A compiled statement and how its rows become instances: what Django's ModelIterable does after running a
    query, kept from the one compilation."""

    def __init__(self, sql: str, params: list, places: list[tuple[int, str]], compiler, alias: str):
        self.sql, self.params, self.places, self.alias = sql, params, places, alias
        # Nothing here holds the compiler or its connection: a compiled statement serves every thread.
        select, klass_info = compiler.select, compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = compiler.get_converters([column[0] for column in select[0:compiler.col_count]])

    def instances(self, rows: list) -> list:
        connection = connections[self.alias]  # this thread's, not the compiling thread's
        found = []
        for row in rows:
            if self.converters:
                row = list(row)
                for position, (converters, expression) in self.converters.items():
                    value = row[position]
                    for converter in converters:
                        value = converter(value, expression, connection)
                    row[position] = value
            obj = self.model.from_db(self.alias, self.init_list, row[self.start:self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            found.append(obj)
        return found


class Prepared:
    """`build(**stand_ins)` -> a queryset of `model` (a model or "app_label.Model"); `kinds` names each value that
    changes and its type."""

    def __init__(self, model, build: Callable[..., QuerySet], **kinds: type):
        self._model = model
        self.build = build
        self.kinds = kinds
        self._compiled: dict[str, _Compiled] = {}

    @property
    def model(self):
        if isinstance(self._model, str):
            self._model = apps.get_model(self._model)
        return self._model

    def _statement(self, alias: str) -> _Compiled:
        if alias not in self._compiled:
            ops = connections[alias].ops
            stand_ins, matches = {}, {}
            for name, kind in self.kinds.items():
                value, adapted = _stand_in(kind, ops)
                stand_ins[name] = value
                matches[value if adapted is None else adapted] = name
            queryset = self.build(**stand_ins).using(alias)
            if queryset.model is not self.model:
                raise TypeError(f"prepared query of {self.model.__name__} built a {queryset.model.__name__} query")
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()  # also fills what turns a row into instances (select, klass_info)
            places = [(index, matches[param]) for index, param in enumerate(params)
                      if isinstance(param, int | str | datetime) and not isinstance(param, bool) and param in matches]
            missing = set(self.kinds) - {name for _, name in places}
            if missing:
                raise RuntimeError(f"prepared query: {sorted(missing)} did not reach the SQL parameters unchanged")
            self._compiled[alias] = _Compiled(sql, list(params), places, compiler, alias)
        return self._compiled[alias]

    def objects(self, **values) -> list:
        """The model instances the queryset gives, as the ORM builds them: its select_related objects attached,
        its annotations as attributes."""
        if set(values) != set(self.kinds):
            raise TypeError(f"prepared query takes {sorted(self.kinds)}, got {sorted(values)}")
        alias = router.db_for_read(self.model)
        compiled = self._statement(alias)
        ops = connections[alias].ops
        params = list(compiled.params)
        for index, name in compiled.places:
            value = values[name]
            kind = self.kinds[name]
            params[index] = ops.adapt_datetimefield_value(value) if kind is datetime else kind(value)
        with planned_cursor(connections[alias]) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled.instances(rows)

    def first(self, **values):
        """The first instance, or None (the queryset decides the order and should be sliced to one row)."""
        found = self.objects(**values)
        return found[0] if found else None

    def forget(self) -> None:
        """Compile again on the next call (the build depends on something that changed, such as a registry)."""
        self._compiled.clear()
