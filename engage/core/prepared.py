"""Hot reads compiled once: building and compiling an ORM queryset costs a millisecond or more of Python (several
with subqueries), often more than the database takes to answer it. A `Prepared` query is built by the area's own
ORM code once per process and database, with stand-in values for what changes from call to call; each call puts
the call's values in the stand-ins' places among the parameters and runs the same SQL.

    record_of = Prepared(ReadingRecord, lambda doctor, page: ReadingRecord.objects.filter(
        doctor_id=doctor, page_id=page).order_by("pk")[:1], doctor=int, page=int)
    record = record_of.first(doctor=user.pk, page=page.pk)

Stand-ins are distinctive values of the declared type (int, str or datetime; a datetime is compared as the database
adapts it). Building fails loudly when a stand-in does not reach the parameters unchanged (a lookup that transforms
its value, such as `__contains`), so a query can never run with a stand-in left in it.
"""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.db import connections, router
from django.db.models import QuerySet

_numbers = itertools.count(1)


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


class Prepared:
    """`build(**stand_ins)` -> a queryset of `model` (a model or "app_label.Model"); `kinds` names each value that
    changes and its type."""

    def __init__(self, model, build: Callable[..., QuerySet], **kinds: type):
        self._model = model
        self.build = build
        self.kinds = kinds
        self._compiled: dict[str, tuple[str, list, list[tuple[int, str]]]] = {}

    @property
    def model(self):
        if isinstance(self._model, str):
            self._model = apps.get_model(self._model)
        return self._model

    def _statement(self, alias: str) -> tuple[str, list, list[tuple[int, str]]]:
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
            sql, params = queryset.query.sql_with_params()
            places = [(index, matches[param]) for index, param in enumerate(params)
                      if isinstance(param, int | str | datetime) and not isinstance(param, bool) and param in matches]
            missing = set(self.kinds) - {name for _, name in places}
            if missing:
                raise RuntimeError(f"prepared query: {sorted(missing)} did not reach the SQL parameters unchanged")
            self._compiled[alias] = (sql, list(params), places)
        return self._compiled[alias]

    def objects(self, **values) -> list:
        """The model instances the queryset gives (its annotations as attributes; no select_related)."""
        if set(values) != set(self.kinds):
            raise TypeError(f"prepared query takes {sorted(self.kinds)}, got {sorted(values)}")
        alias = router.db_for_read(self.model)
        sql, params, places = self._statement(alias)
        ops = connections[alias].ops
        params = list(params)
        for index, name in places:
            value = values[name]
            kind = self.kinds[name]
            params[index] = ops.adapt_datetimefield_value(value) if kind is datetime else kind(value)
        return list(self.model._default_manager.db_manager(alias).raw(sql, params))

    def first(self, **values):
        """The first instance, or None (the queryset decides the order and should be sliced to one row)."""
        found = self.objects(**values)
        return found[0] if found else None

    def forget(self) -> None:
        """Compile again on the next call (the build depends on something that changed, such as a registry)."""
        self._compiled.clear()
