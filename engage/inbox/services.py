"""Writes of the in-app inbox: a notification stored once per key and pushed to the person's open pages over the
`/ws/notifications/` socket after commit, and marking notifications read."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from engage.inbox.models import Notification
from engage.inbox.selectors import forget_unread_count, unread_count

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def notify_user(user, event: str, payload: dict) -> None:
    """Send `event` with `payload` to every socket of `user` once the current transaction commits.

    Nothing is sent if the transaction rolls back. A failing channel layer is logged, never raised:
    a push is a convenience, the database is the record.
    """
    user_id = user.pk if hasattr(user, "pk") else int(user)

    def _send():
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                user_group(user_id), {"type": "notify", "event": event, "payload": payload}
            )
        except Exception:
            logger.exception("notify_user failed for user %s event %s", user_id, event)

    transaction.on_commit(_send)


def notification_send(*, user, kind: str, title: str, body: str = "", url: str = "", key: str):
    """Stores an inbox notification for `user` once per `key` and pushes it to their open pages after commit.

    Returns (notification, created). A repeated key changes nothing and pushes nothing.
    """
    from django.db import IntegrityError


    try:
        with transaction.atomic():
            notification = Notification.objects.create(user=user, kind=kind, title=str(title)[:200],
                                                       body=str(body), url=url[:500], key=key[:200])
    except IntegrityError:
        return Notification.objects.get(key=key[:200]), False
    forget_unread_count(user)
    notify_user(user, "notification", {"id": notification.pk, "kind": kind, "title": notification.title,
                                       "body": notification.body, "url": notification.url})
    return notification, True


def _push_unread(user) -> None:
    forget_unread_count(user)
    # Other open pages of the same person update their badge after commit.
    notify_user(user, "inbox.unread", {"unread": unread_count(user=user)})


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    """Marks the notification read (the first time only; reading again keeps the first time)."""
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    if updated:
        _push_unread(notification.user)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    """Marks every unread notification of `user` read; returns how many."""
    updated = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    if updated:
        _push_unread(user)
    return updated
