"""What doctors are told about their registrations: confirmations, decisions, promotions and reminders.

Delivered through the platform's notifications (engage.core.notifications), stored once per key; WeChat and SMS
delivery hang off the same notifications later.
"""

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from engage.core.notifications import notification_send
from events.models import Registration

Status = Registration.Status
KIND = "event_registration"
REMINDER_KIND = "event_reminder"


def _when(registration: Registration) -> str:
    return date_format(timezone.localtime(registration.event.starts_at), "Y-m-d H:i")


def _url(registration: Registration) -> str:
    ticket = getattr(registration, "ticket", None)
    if registration.status == Status.CONFIRMED and ticket is not None and ticket.revoked_at is None:
        return reverse("events:ticket", args=[ticket.secret])
    return reverse("events:my_meetings")


def _message(registration: Registration, what: str) -> tuple[str, str] | None:
    event = registration.event
    params = {"title": event.title, "when": _when(registration), "venue": event.venue_name or event.online_url}
    if what == Status.CONFIRMED or (what in ("promoted", "approved") and registration.status == Status.CONFIRMED):
        title = _("You are registered: %(title)s") % params
        if what == "promoted":
            title = _("A seat freed up: you are registered for %(title)s") % params
        elif what == "approved":
            title = _("Registration approved: %(title)s") % params
        return title, _("%(when)s, %(venue)s. Show your QR ticket at the entrance.") % params
    if what == Status.PENDING or (what == "promoted" and registration.status == Status.PENDING):
        return (_("Registration received: %(title)s") % params,
                _("Your registration awaits the organiser's approval; we will tell you the decision.") % params)
    if what == Status.WAITLISTED:
        return (_("On the waiting list: %(title)s") % params,
                _("The meeting is full. You will get a seat automatically if one frees up.") % params)
    if what == "rejected":
        return (_("Registration not accepted: %(title)s") % params, registration.reason or "")
    if what == "cancelled":
        return (_("Registration cancelled: %(title)s") % params, registration.reason or "")
    return None


def registration_notify(*, registration_id: int, what: str) -> bool:
    """Sends the notification for a change of a registration, once per (registration, change)."""
    registration = (Registration.objects.select_related("event", "doctor", "ticket")
                    .filter(pk=registration_id).first())
    if registration is None:
        return False
    message = _message(registration, what)
    if message is None:
        return False
    _notification, created = notification_send(
        user=registration.doctor, kind=KIND, title=message[0], body=message[1], url=_url(registration),
        key=f"registration:{registration.pk}:{what}",
    )
    return created


def _remind(registration: Registration, *, field: str, title: str, body: str, now) -> bool:
    with transaction.atomic():
        claimed = Registration.objects.filter(pk=registration.pk, status=Status.CONFIRMED,
                                              **{f"{field}__isnull": True}).update(**{field: now})
        if not claimed:
            return False
        notification_send(user=registration.doctor, kind=REMINDER_KIND, title=title, body=body,
                          url=_url(registration), key=f"registration:{registration.pk}:{field}")
    return True


def registration_reminders_send(*, now=None) -> int:
    """Day-before reminders for confirmed registrations of meetings starting in 1 to 24 hours, hour-before ones
    for meetings starting within the hour. A reminder is claimed by a conditional update of its
    `reminded_*` field and keyed in the notifications, so overlapping runs send it once."""
    now = now or timezone.now()
    sent = 0
    base = Registration.objects.filter(status=Status.CONFIRMED, event__live=True).select_related(
        "event", "doctor", "ticket")
    day = base.filter(reminded_day_before_at__isnull=True, event__starts_at__gt=now + timedelta(hours=1),
                      event__starts_at__lte=now + timedelta(hours=24))
    for registration in day.iterator(chunk_size=500):
        params = {"title": registration.event.title, "when": _when(registration),
                  "venue": registration.event.venue_name or registration.event.online_url}
        sent += _remind(registration, field="reminded_day_before_at", now=now,
                        title=_("Tomorrow: %(title)s") % params,
                        body=_("%(when)s, %(venue)s. Your QR ticket is in My meetings.") % params)
    hour = base.filter(reminded_hour_before_at__isnull=True, event__starts_at__gt=now,
                       event__starts_at__lte=now + timedelta(hours=1))
    for registration in hour.iterator(chunk_size=500):
        params = {"title": registration.event.title, "when": _when(registration),
                  "venue": registration.event.venue_name or registration.event.online_url}
        sent += _remind(registration, field="reminded_hour_before_at", now=now,
                        title=_("Starting within the hour: %(title)s") % params,
                        body=_("%(when)s, %(venue)s. Open your QR ticket for check-in.") % params)
    return sent
