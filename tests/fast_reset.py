"""Transactional tests, reset in SQL: the rows migrations wrote are copied once into a snapshot schema, and a
transactional test's set-up copies them back; its tear-down empties the tables with DELETE.

Django's way costs every transactional test about two seconds here: `flush` TRUNCATEs all ~200 tables (a new file
per table and index) and serialized rollback loads the migrations' rows back one `save()` at a time. The same
state in SQL takes a few tens of milliseconds. Rows are deleted and copied with `session_replication_role =
replica`, so neither the append-only triggers nor the deferred foreign-key checks fire (as with TRUNCATE, which
fires no row trigger either); that needs a superuser, which the test database's user is here and in CI
(`postgres`). For any other user, or another database, Django's own way is kept.

Only the test process uses this (tests/conftest.py installs it); the servers and workers that tests start never
flush or restore.
"""

import json

from django.db import transaction
from django.db.backends.postgresql.creation import DatabaseCreation
from django.db.backends.postgresql.operations import DatabaseOperations

SNAPSHOT_SCHEMA = "engage_test_snapshot"
MARKER = f"-- rows copied into the schema {SNAPSHOT_SCHEMA}: "  # followed by the copied tables and columns
_django_serialize = DatabaseCreation.serialize_db_to_string
_django_deserialize = DatabaseCreation.deserialize_db_from_string
_django_sql_flush = DatabaseOperations.sql_flush


def _superuser(connection) -> bool:
    if not hasattr(connection, "_engage_superuser"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            connection._engage_superuser = bool(cursor.fetchone()[0])
    return connection._engage_superuser


def _tables(connection) -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _insertable_columns(cursor, table: str) -> list[str]:
    """The table's columns that take a value (not a generated one)."""
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                   "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", [table])
    return [row[0] for row in cursor.fetchall()]


def serialize_db_to_string(self) -> str:
    connection = self.connection
    if not _superuser(connection):
        return _django_serialize(self)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE; CREATE SCHEMA {SNAPSHOT_SCHEMA}")
        copied = []
        for table in _tables(connection):
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")  # noqa: S608 (a table name of ours)
            if cursor.fetchone()[0]:
                columns = ", ".join(quote(c) for c in _insertable_columns(cursor, table))
                cursor.execute(f"CREATE TABLE {SNAPSHOT_SCHEMA}.{quote(table)} AS "  # noqa: S608
                               f"SELECT {columns} FROM {quote(table)}")
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id') FROM information_schema.columns WHERE "
                               "table_schema = current_schema() AND table_name = %s AND column_name = 'id'",
                               [quote(table), table])
                sequence = cursor.fetchone()
                copied.append((table, columns, sequence[0] if sequence else None))
    return MARKER + json.dumps(copied)


def deserialize_db_from_string(self, data: str) -> None:
    connection = self.connection
    if not data.startswith(MARKER):
        return _django_deserialize(self, data)
    quote = connection.ops.quote_name
    statements = ["SET LOCAL session_replication_role = replica",
                  *(f"DELETE FROM {quote(table)}" for table in _tables(connection))]  # noqa: S608
    for table, columns, sequence in json.loads(data[len(MARKER):]):
        statements.append(f"INSERT INTO {quote(table)} ({columns}) OVERRIDING SYSTEM VALUE "  # noqa: S608
                          f"SELECT {columns} FROM {SNAPSHOT_SCHEMA}.{quote(table)}")
        if sequence:  # past the copied ids, whatever reset the sequence (a flush that restarts identities)
            statements.append(f"SELECT setval('{sequence}', GREATEST((SELECT max(id) FROM {quote(table)}), "  # noqa: S608
                              f"(SELECT last_value FROM {sequence})))")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(";\n".join(statements))
    return None


def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    if not tables or reset_sequences or not _superuser(self.connection):
        return _django_sql_flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    # One statement: the flush runs them in one transaction, where SET LOCAL holds.
    return [";\n".join(["SET LOCAL session_replication_role = replica",
                        *(f"DELETE FROM {self.quote_name(table)}" for table in tables)])]  # noqa: S608


def install() -> None:
    DatabaseCreation.serialize_db_to_string = serialize_db_to_string
    DatabaseCreation.deserialize_db_from_string = deserialize_db_from_string
    DatabaseOperations.sql_flush = sql_flush
