"""Outcome handlers: other apps learn what happened to their messages.

    from engage.messaging.outcomes import register_outcome_handler

    def on_outcome(message):            # an OutboundMessage, already committed
        if message.purpose != "dose_reminder": return
        ...                             # message.status in sent/delivered/failed/undelivered/unknown

    register_outcome_handler(on_outcome)  # e.g. in AppConfig.ready(); registering twice is harmless

A handler is called after commit, once per status change (sent, delivered, failed, undelivered, unknown), with a
fresh OutboundMessage. `message.fallback_of` is set on the SMS the gateway enqueued after a WeChat message could not
reach its user (both carry the same `purpose`). A handler that raises is logged and does not stop the others.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("engage.messaging")

_HANDLERS: list[Callable] = []
REPORTED = {"sent", "delivered", "failed", "undelivered", "unknown"}


def register_outcome_handler(fn: Callable) -> Callable:
    if fn not in _HANDLERS:
        _HANDLERS.append(fn)
    return fn


def unregister_outcome_handler(fn: Callable) -> None:
    if fn in _HANDLERS:
        _HANDLERS.remove(fn)


def _notify(message_id: int) -> None:
    from .models import OutboundMessage

    message = OutboundMessage.objects.filter(pk=message_id).first()
    if message is None:
        return
    for handler in list(_HANDLERS):
        try:
            handler(message)
        except Exception:
            logger.exception("outcome handler %r failed for message %s", handler, message_id)


def outcome_changed(message_id: int, status: str) -> None:
    """Schedules the handlers for after the current transaction commits (at once outside one)."""
    if status in REPORTED and _HANDLERS:
        transaction.on_commit(lambda: _notify(message_id))
