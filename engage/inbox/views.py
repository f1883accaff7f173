"""The member's notification inbox: list (unread first), open one (marks it read, follows its link), mark all
read. Only the person's own notifications; state changes are POSTs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from engage.core.errors import NotFound
from engage.inbox.selectors import access_notification, inbox_page, safe_link
from engage.inbox.services import notification_mark_read, notifications_mark_all_read


@require_GET
@login_required
def inbox(request):
    try:
        page = int(request.GET.get("page") or 1)
    except (TypeError, ValueError, OverflowError):
        page = 1
    listing = inbox_page(user=request.user, page=page)
    response = render(request, "inbox/inbox.html", {"listing": listing})
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def notification_open(request, notification_id: int):
    try:
        notification = access_notification(user=request.user, notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    notification_mark_read(notification=notification)
    return redirect(safe_link(notification.url) or reverse("inbox"))


@require_POST
@login_required
def inbox_mark_all_read(request):
    count = notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return redirect("inbox")
