"""One-statement inserts for the hot write paths: `INSERT … ON CONFLICT DO NOTHING RETURNING id` on PostgreSQL,
and several rows that belong together written in one statement (`insert_together`).

A service that keeps a fact once (a ledger row per idempotency key, an engagement event per source key) used to
try the insert inside a savepoint and catch the IntegrityError: three round trips (SAVEPOINT, INSERT, RELEASE)
where one does. `insert_once` is that one statement; elsewhere (SQLite) it falls back to the savepoint.
"""

from contextlib import nullcontext

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery

from engage.core.prepared import planned_cursor


def insert_once(obj: models.Model, *, key: str) -> bool:
    """Inserts the unsaved `obj` unless a row with the same value of its unique field `key` exists. True when
    inserted (`obj.pk` set); False when that row was there already (nothing written, the transaction intact).
    Any other constraint that refuses the row still raises IntegrityError."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
            return True
        except IntegrityError:
            if model._default_manager.using(using).filter(**{key: getattr(obj, key)}).exists():
                return False
            raise
    sql, params = _insert_statement(obj, using, on_conflict=OnConflict.IGNORE)
    with planned_cursor(connection) as cursor:  # one text per model: planned once per connection
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        # DO NOTHING skips on any unique constraint: only the one on `key` means "already there".
        if model._default_manager.using(using).filter(**{key: getattr(obj, key)}).exists():
            return False
        raise IntegrityError(f"{model._meta.label}: a unique constraint other than {key} refused the row")
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, using
    return True


def insert_many_once(objs: list[models.Model], *, key: str, using: str = "default") -> dict:
    """PostgreSQL: inserts the unsaved `objs` (one model) in ONE statement whose text does not depend on how many
    there are (`INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING`), so it is planned
    once per connection and its values travel as arrays instead of thousands of parameters. Rows whose unique
    `key` is already taken (or repeated among `objs`) are skipped. Returns {key value: pk} of the rows inserted;
    their instances get their pk. Model signals are not sent (as for bulk_create)."""
    if not objs:
        return {}
    model, meta, connection = type(objs[0]), objs[0]._meta, connections[using]
    fields = _insert_fields(meta)
    if (model, using, "many") not in _insert_texts:
        quote = connection.ops.quote_name
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        _insert_texts[(model, using, "many")] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
            f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING "  # (names and types from the model)
            f"RETURNING {quote(meta.pk.column)}, {quote(meta.get_field(key).column)}")
    columns = [[] for _ in fields]
    for obj in objs:
        for column, field in zip(columns, fields, strict=True):
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"insert_many_once: {field.name} is an expression, not a value")
            column.append(field.get_db_prep_save(value, connection=connection))
    with planned_cursor(connection) as cursor:
        cursor.execute(_insert_texts[(model, using, "many")], columns)
        inserted = dict((value, pk) for pk, value in cursor.fetchall())
    given = set()
    for obj in objs:  # a key repeated among objs was written from its first occurrence (the arrays' order)
        value = getattr(obj, key)
        if value in inserted and value not in given:
            given.add(value)
            obj.pk = inserted[value]
            obj._state.adding, obj._state.db = False, using
    return inserted


_insert_texts: dict[tuple, str] = {}  # (model, database, kind) -> statement


def _insert_fields(meta) -> list:
    """The columns an INSERT writes: all but a key the database draws and generated ones."""
    return [f for f in meta.local_concrete_fields if not (f.primary_key and f.db_returning) and not f.generated]


def _insert_statement(obj: models.Model, using: str, *, on_conflict=None) -> tuple[str, list]:
    """`INSERT … RETURNING pk` of the unsaved `obj` with its parameters. The text is compiled by the ORM once per
    model (compiling costs more than running it) and reused while every value is a plain value; a value that is an
    expression, or a field with its own placeholder, is compiled afresh each time."""
    model, meta, connection = type(obj), obj._meta, connections[using]
    fields = _insert_fields(meta)
    key = (model, using, on_conflict)
    if key in _insert_texts:
        values = [field.pre_save(obj, True) for field in fields]
        if not any(hasattr(value, "resolve_expression") for value in values):
            return _insert_texts[key], [field.get_db_prep_save(value, connection=connection)
                                        for field, value in zip(fields, values, strict=True)]
    query = InsertQuery(model, on_conflict=on_conflict)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    values = [getattr(obj, field.attname) for field in fields]  # as pre_save left them
    if len(params) == len(fields) and not any(hasattr(field, "get_placeholder") for field in fields) and not any(
            hasattr(value, "resolve_expression") for value in values):
        _insert_texts[key] = sql
    return sql, list(params)


def reserve_pks(*model_classes: type[models.Model], using: str = "default") -> list[int | None]:
    """Primary keys for rows that `insert_together` will write and that name each other: drawn from the tables'
    sequences in one statement on PostgreSQL; None elsewhere (there the rows are saved one by one, in order, and
    the ORM fills each reference from the row saved before it)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not model_classes:
        return [None] * len(model_classes)
    quote = connection.ops.quote_name
    places = ", ".join(["nextval(pg_get_serial_sequence(%s, %s))"] * len(model_classes))
    params = []
    for model in model_classes:
        params += [quote(model._meta.db_table), model._meta.pk.column]
    with planned_cursor(connection) as cursor:
        cursor.execute(f"SELECT {places}", params)
        return list(cursor.fetchone())


def insert_together(*items, using: str = "default") -> list[models.Model]:
    """Inserts unsaved model instances all or none, and returns them saved: in ONE statement on PostgreSQL (their
    INSERTs chained in one WITH: one round trip; a savepoint only inside a transaction), in order inside one
    transaction elsewhere. An item may be a callable that makes its instance from the ones before it (an audit
    entry naming the row it records): it is called once those have their keys, which on PostgreSQL is before
    anything is written, so a row naming another of them needs that one's key from `reserve_pks`. A constraint
    that refuses any row raises IntegrityError and none is written. Model signals are not sent (as for
    bulk_create)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        objs = []
        with transaction.atomic(using=using):
            for item in items:
                obj = item() if callable(item) else item
                _check_insertable(obj)
                obj.save(force_insert=True, using=using)
                objs.append(obj)
        return objs
    objs = [item() if callable(item) else item for item in items]
    for obj in objs:
        _check_insertable(obj)
    parts, params = [], []
    for n, obj in enumerate(objs):
        meta = obj._meta
        fields = [f for f in meta.local_concrete_fields
                  if not f.generated and not (f.primary_key and obj.pk is None and f.db_returning)]
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = [meta.pk]
        [(sql, values)] = compiler.as_sql()
        parts.append(f"i{n} AS ({sql})")
        params += values
    keys = ", ".join(f"(SELECT * FROM i{n})" for n in range(len(objs)))  # noqa: S608  (names made here)
    # Inside a transaction a refused statement would abort it: a savepoint keeps the caller's transaction usable.
    with transaction.atomic(using=using) if connection.in_atomic_block else nullcontext():
        with planned_cursor(connection) as cursor:  # one text per kind of write: planned once
            cursor.execute(f"WITH {', '.join(parts)} SELECT {keys}", params)
            row = cursor.fetchone()
    for obj, pk in zip(objs, row, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, using
    return objs


def _check_insertable(obj: models.Model) -> None:
    if obj._meta.parents:
        raise TypeError(f"insert_together cannot write {obj._meta.label} (a multi-table child)")
    obj._prepare_related_fields_for_save(operation_name="insert_together")


def require_columns(written: dict[type[models.Model], list[str]]) -> None:
    """For a hand-written statement that inserts rows of these models: raises unless it names every column of each
    table but the key, so a column added to a model later fails loudly here instead of going unwritten."""
    for model, columns in written.items():
        expected = {f.column for f in model._meta.concrete_fields if not f.primary_key}
        if set(columns) != expected:
            raise RuntimeError(f"hand-written insert of {model.__name__}: columns {sorted(expected ^ set(columns))}")

