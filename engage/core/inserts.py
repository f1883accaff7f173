"""One-statement inserts for the hot write paths: `INSERT … ON CONFLICT DO NOTHING RETURNING id` on PostgreSQL.

A service that keeps a fact once (a ledger row per idempotency key, an engagement event per source key) used to
try the insert inside a savepoint and catch the IntegrityError: three round trips (SAVEPOINT, INSERT, RELEASE)
where one does. `insert_once` is that one statement; elsewhere (SQLite) it falls back to the savepoint.
"""

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery


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
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not (f.primary_key and f.db_returning) and not f.generated]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        # DO NOTHING skips on any unique constraint: only the one on `key` means "already there".
        if model._default_manager.using(using).filter(**{key: getattr(obj, key)}).exists():
            return False
        raise IntegrityError(f"{meta.label}: a unique constraint other than {key} refused the row")
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, using
    return True
