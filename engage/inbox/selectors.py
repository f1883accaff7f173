"""Reads of a member's notification inbox: their own notifications only, unread first."""

import math
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from engage.core.paging import PageOf
from engage.inbox.models import Notification

INBOX_PAGE_SIZE = 20
MAX_PAGE = 1000


@dataclass(kw_only=True)
class InboxPage(PageOf):
    items: list[Notification]
    unread: int


def unread_count(*, user) -> int:
    """How many of `user`'s notifications are unread (remembered when the session loaded them)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    remembered = getattr(user, _UNREAD_ATTR, None)
    if remembered is not None:
        return remembered
    return _unread().filter(user=user).count()


_UNREAD_ATTR = "_engage_unread"


def _unread():
    return Notification.objects.filter(read_at__isnull=True)


def unread_count_expression(now=None):
    """`unread_count` on the user row (engage.core.preload)."""
    counted = _unread().filter(user_id=OuterRef("pk")).values("user_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def remember_unread_count(user, count: int | None) -> None:
    setattr(user, _UNREAD_ATTR, int(count or 0))


def forget_unread_count(user) -> None:
    """After a change to `user`'s notifications in this request."""
    if hasattr(user, _UNREAD_ATTR):
        delattr(user, _UNREAD_ATTR)


def notifications_of(*, user) -> QuerySet[Notification]:
    """`user`'s notifications, unread first, newest first within each group."""
    unread_first = Case(When(read_at__isnull=True, then=Value(True)), default=Value(False),
                        output_field=BooleanField())
    return (Notification.objects.filter(user=user).annotate(unread=unread_first)
            .order_by("-unread", "-created_at", "-id"))


def inbox_page(*, user, page: int = 1, page_size: int = INBOX_PAGE_SIZE) -> InboxPage:
    qs = notifications_of(user=user)
    total = qs.count()
    num_pages = max(1, math.ceil(total / page_size))
    page = min(max(page, 1), num_pages, MAX_PAGE)
    items = list(qs[(page - 1) * page_size: page * page_size])
    return InboxPage(items=items, page=page, num_pages=num_pages, total=total, unread=unread_count(user=user))


def access_notification(*, user, notification_id) -> Notification:
    """`user`'s own notification `notification_id`; NotFound for anyone else's (never tells whose it is)."""
    try:
        notification_id = int(notification_id)
    except (TypeError, ValueError):
        raise NotFound("notification_not_found", _("No such notification.")) from None
    notification = Notification.objects.filter(pk=notification_id, user=user).first()
    if notification is None:
        raise NotFound("notification_not_found", _("No such notification."))
    return notification


def safe_link(url: str) -> str:
    """The notification's link if it stays on this site (a path), '' otherwise."""
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return ""
