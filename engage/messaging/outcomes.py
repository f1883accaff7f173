"""Outcome handlers: other apps learn what happened to their messages.

    from engage.messaging.outcomes import register_outcome_handler

    def on_outcome(message):            # an OutboundMessage, already committed
        if message.purpose != "dose_reminder": return
        ...                             # message.status in sent/delivered/failed/undelivered/unknown

    register_outcome_handler(on_outcome)  # e.g. in AppConfig.ready(); registering twice is harmless
    register_outcome_handler(on_outcomes, many=True)  # called with a list of messages instead

A handler is called after commit, once per status change (sent, delivered, failed, undelivered, unknown), with a
fresh OutboundMessage. `message.fallback_of` is set on the SMS the gateway enqueued after a WeChat message could not
reach its user (both carry the same `purpose`). A handler that raises is logged and does not stop the others.

The batch sender gathers the outcomes of a batch (`outcomes_gathered()`) and reports them together when the batch
ends: one query loads the messages (none when the change handed over the rows it wrote) and a `many` handler is
called once for all of them.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.db import transaction

from engage.messaging.models import OutboundMessage

logger = logging.getLogger("engage.messaging")

_HANDLERS: list[tuple[Callable, bool]] = []
REPORTED = {"sent", "delivered", "failed", "undelivered", "unknown"}
_gathering = threading.local()


def register_outcome_handler(fn: Callable, *, many: bool = False) -> Callable:
    if all(handler is not fn for handler, _ in _HANDLERS):
        _HANDLERS.append((fn, many))
    return fn


def unregister_outcome_handler(fn: Callable) -> None:
    _HANDLERS[:] = [(handler, many) for handler, many in _HANDLERS if handler is not fn]


def _notify(message_ids: list[int], rows: dict | None = None) -> None:
    """Calls the handlers with the messages as committed: the rows the change handed over (`rows`, by id), the others
    read in one query."""
    rows = rows or {}
    wanted = set(message_ids)
    unread = wanted - set(rows)
    messages = [rows[pk] for pk in wanted - unread]
    if unread:
        messages += list(OutboundMessage.objects.filter(pk__in=unread))
    if not messages:
        return
    messages.sort(key=lambda message: message.pk)
    for handler, many in list(_HANDLERS):
        for argument in ([messages] if many else messages):
            try:
                handler(argument)
            except Exception:
                logger.exception("outcome handler %r failed for %r", handler, argument)


def _committed(message_id: int, row) -> None:
    gathered = getattr(_gathering, "ids", None)
    if gathered is not None:
        gathered.append(message_id)
        if row is not None:
            _gathering.rows[message_id] = row
        else:  # a later change without its row: the handlers get the row as read then
            _gathering.rows.pop(message_id, None)
    else:
        _notify([message_id], {message_id: row} if row is not None else None)


@contextmanager
def outcomes_gathered():
    """Outcomes committed inside the block are reported together when it ends (nested blocks join the outer)."""
    if getattr(_gathering, "ids", None) is not None:
        yield
        return
    _gathering.ids, _gathering.rows = [], {}
    try:
        yield
    finally:
        ids, rows = _gathering.ids, _gathering.rows
        _gathering.ids, _gathering.rows = None, {}
        if ids:
            _notify(ids, rows)


def outcome_changed(message_id: int, status: str, row=None) -> None:
    """Schedules the handlers for after the current transaction commits (at once outside one). `row`: the message as
    the change left it (the claimed row with the change's values), which spares reading it again."""
    if status in REPORTED and _HANDLERS:
        transaction.on_commit(lambda: _committed(message_id, row))
