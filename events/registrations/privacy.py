"""Registrations and tickets in the personal data export; kept on closing as the attendance evidence of sponsored
meetings, with the person's names taken out of their free text. Registrations for meetings still to come are
cancelled: their seats go back to the quota."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from events.checkin.models import CheckIn
from events.registrations.models import Registration, RepInvitation, Ticket
from events.registrations.services import registration_cancel

CLOSED_REASON = "account closed"


def _cancel_upcoming(account: ClosingAccount) -> None:
    # Seats of meetings still to come go back to the quota (and its waiting list); attended ones stay as they are.
    checked_in = CheckIn.objects.filter(registration=OuterRef("pk"), annulled_at__isnull=True)
    upcoming = Registration.objects.filter(~Exists(checked_in), doctor=account.user,
                                           status__in=Registration.ACTIVE, event__starts_at__gt=timezone.now())
    for registration in upcoming:
        registration_cancel(registration=registration, actor=account.user, reason=CLOSED_REASON,
                            account_closing=True)


@personal_data(section="registrations", model="events.Registration", user_fields=("doctor",), order=60,
               closing=Closing.PSEUDONYMISE, close=_cancel_upcoming, scrub=("reason", "frequency_warning"),
               reason="attendance of sponsored meetings is transfer-of-value evidence")
def registrations_export(user) -> list[dict]:
    return [
        {"meeting": r.event.title, "meeting_starts": iso(r.event.starts_at), "status": r.status, "source": r.source,
         "registered_at": iso(r.created_at), "decided_at": iso(r.decided_at), "cancelled_at": iso(r.cancelled_at),
         "reason": r.reason, "frequency_warning": r.frequency_warning}
        for r in Registration.objects.filter(doctor=user).select_related("event").order_by("created_at", "id")
    ]


@personal_data(section="tickets", model="events.Ticket", user_fields=(), order=61, closing=Closing.RETAIN,
               reason="the ticket a check-in was made with (check-in evidence)")
def tickets_export(user) -> list[dict]:
    return [
        {"meeting": t.event.title, "code": t.secret, "issued_at": iso(t.issued_at), "revoked_at": iso(t.revoked_at),
         "revoked_reason": t.revoked_reason}
        for t in Ticket.objects.filter(registration__doctor=user).select_related("event").order_by("issued_at", "id")
    ]


@personal_data(section="rep_invitations", model="events.RepInvitation", user_fields=("doctor", "rep"), order=62,
               closing=Closing.DELETE)
def rep_invitations_export(user) -> list[dict]:
    return [
        {"meeting": i.quota.event.title, "invited_at": iso(i.created_at),
         "role": "doctor" if i.doctor_id == user.pk else "rep"}
        for i in RepInvitation.objects.filter(Q(doctor=user) | Q(rep=user)).select_related("quota__event")
        .order_by("created_at", "id")
    ]
