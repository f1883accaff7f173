"""Reads of a member's notification inbox: their own notifications only, unread first."""

import math
from dataclasses import dataclass

from django.db.models import BooleanField, Case, QuerySet, Value, When
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
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


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
