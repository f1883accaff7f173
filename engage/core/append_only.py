"""Append-only tables (evidence: audit entries, content approvals, the points ledger): rows are inserted, never
changed or removed.

Two guards: the model and its queryset refuse `save()` of an existing row, `delete()`, `update()` (and so
`bulk_update`) on every database; on PostgreSQL a row-level trigger refuses UPDATE and DELETE whatever the code
does (raw SQL, cascades). TRUNCATE stays possible: it needs the table owner's rights, and the test database's
flush uses it (a row-level trigger does not fire on TRUNCATE).
"""

from django.db import migrations, models


class AppendOnlyError(ValueError):
    """An append-only row was to be changed or removed."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only: no update.")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only: no delete.")


class AppendOnlyModel(models.Model):
    """Abstract base: `objects` is an AppendOnlyQuerySet; saving an existing row or deleting one raises."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only: no update.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only: no delete.")


def append_only_trigger(table: str) -> migrations.RunPython:
    """The migration operation that makes PostgreSQL refuse UPDATE and DELETE on `table` (no-op elsewhere)."""
    function, trigger = f"{table}_append_only", f"{table}_no_update_delete"
    forward_sql = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    backward_sql = f"DROP TRIGGER IF EXISTS {trigger} ON {table}; DROP FUNCTION IF EXISTS {function}();"

    def run(sql):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql, params=None)
        return operation

    return migrations.RunPython(run(forward_sql), run(backward_sql))
