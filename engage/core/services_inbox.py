"""Writes of the notification inbox: marking a member's own notifications read."""

from django.db import transaction
from django.utils import timezone

from engage.core.models import Notification
from engage.core.notifications import notify_user


def _push_unread(user) -> None:
    from engage.core.selectors_inbox import unread_count

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
