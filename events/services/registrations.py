"""Registrations: self-registration, rep and staff invitations, approval, waiting list, cancellation.

Seats: a registration that holds a seat (confirmed, or awaiting approval) counts in its quota's `taken`. Every
change of a seat locks that one quota row (select_for_update) before it reads `taken`, so concurrent
registrations queue on the row and the waiting list is first come, first served; the CHECK taken ≤ seats and
the partial unique index (one active registration per doctor and meeting) back it up in the database.
Services that lock several quotas (events.services.quotas) lock them in primary-key order.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.roles import is_staff_member
from events.models import EventPage, FrequencyRule, Quota, Registration
from events.selectors import access_quota_by_invite, cancellation_open, event_eligibility, registration_window

from .tickets import ticket_issue, ticket_revoke

Status = Registration.Status
HOLDING = (Status.PENDING, Status.CONFIRMED)


@dataclass(frozen=True)
class FrequencyCheck:
    blocked: bool
    warning: str


# --- Rules ------------------------------------------------------------------------------------------------


def _period_bounds(when: datetime, period: str) -> tuple[datetime, datetime]:
    local = timezone.localtime(when)
    if period == FrequencyRule.Period.MONTH:
        start = local.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
            month=start.month + 1)
    elif period == FrequencyRule.Period.QUARTER:
        first_month = (local.month - 1) // 3 * 3 + 1
        start = local.replace(month=first_month, day=1)
        end = start.replace(year=start.year + 1, month=1) if first_month == 10 else start.replace(
            month=first_month + 3)
    else:
        start = local.replace(month=1, day=1)
        end = start.replace(year=start.year + 1)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, end


def frequency_check(*, doctor, event: EventPage) -> FrequencyCheck:
    """Applies the active frequency rules to a new registration of `doctor` for the sponsored `event`: the
    doctor's seat-holding registrations for other sponsored meetings of the rule's type in the same calendar
    period. A block rule over its limit blocks; warn rules give a message stored on the registration."""
    if not event.sponsored:
        return FrequencyCheck(False, "")
    warnings = []
    for rule in FrequencyRule.objects.filter(active=True).order_by("action", "pk"):
        if rule.event_type and rule.event_type != event.event_type:
            continue
        start, end = _period_bounds(event.starts_at, rule.period)
        qs = Registration.objects.filter(doctor=doctor, status__in=HOLDING, event__sponsored=True,
                                         event__starts_at__gte=start, event__starts_at__lt=end).exclude(event=event)
        if rule.event_type:
            qs = qs.filter(event__event_type=rule.event_type)
        count = qs.count()
        if count < rule.max_meetings:
            continue
        message = _("%(count)s sponsored meetings this %(period)s already; the limit is %(max)s.") % {
            "count": count, "period": rule.get_period_display().lower(), "max": rule.max_meetings}
        if rule.action == FrequencyRule.Action.BLOCK:
            return FrequencyCheck(True, message)
        warnings.append(message)
    return FrequencyCheck(False, " ".join(warnings)[:300])


# --- Seats ------------------------------------------------------------------------------------------------


def _lock_quota(quota_id: int) -> Quota:
    return Quota.objects.select_for_update().get(pk=quota_id)


def _take_seat(quota: Quota) -> None:
    Quota.objects.filter(pk=quota.pk).update(taken=F("taken") + 1)
    quota.taken += 1


def _free_seat(quota: Quota) -> None:
    Quota.objects.filter(pk=quota.pk).update(taken=F("taken") - 1)
    quota.taken -= 1


def _notify(registration: Registration, what: str) -> None:
    from events.tasks import registration_notify_task

    registration_id = registration.pk
    transaction.on_commit(lambda: registration_notify_task.delay(registration_id, what))


def _confirm(registration: Registration, *, actor=None) -> None:
    registration.status = Status.CONFIRMED
    registration.holds_seat = True
    if actor is not None:
        registration.decided_by = actor
        registration.decided_at = timezone.now()
    registration.save(update_fields=["status", "holds_seat", "decided_by", "decided_at"])
    ticket_issue(registration=registration)


def registrations_promote(*, quota: Quota, actor=None) -> list[Registration]:
    """Gives the free seats of the locked `quota` to its waiting list, first come first served. The caller holds
    the quota's row lock (inside its transaction)."""
    promoted = []
    while quota.taken < quota.seats:
        waiting = (Registration.objects.select_for_update().select_related("event")
                   .filter(quota_id=quota.pk, status=Status.WAITLISTED).order_by("created_at", "pk").first())
        if waiting is None:
            break
        _take_seat(quota)
        if waiting.event.approval_required:
            waiting.status = Status.PENDING
            waiting.holds_seat = True
            waiting.save(update_fields=["status", "holds_seat"])
        else:
            _confirm(waiting)
        audit_log(actor=actor, action="events.registration.promoted", obj=waiting,
                  before={"status": Status.WAITLISTED}, after={"status": waiting.status})
        _notify(waiting, "promoted")
        promoted.append(waiting)
    return promoted


# --- Registration -----------------------------------------------------------------------------------------


def _resolve_quota(*, event: EventPage, doctor, invite: str | None) -> Quota:
    if invite is None or invite == "":
        quota = Quota.objects.filter(event=event, kind=Quota.Kind.OPEN).first()
        if quota is None:
            from .quotas import quota_open_sync

            quota = quota_open_sync(event=event, strict=False)
        return quota
    try:
        quota = access_quota_by_invite(code=invite, event=event)
    except NotFound as error:
        raise DomainError("invalid_invite", error.message, status=400) from None
    if quota.kind == Quota.Kind.REGION:
        profile = getattr(doctor, "doctor_profile", None)
        province = profile.hospital.province if profile is not None and profile.hospital_id else ""
        if province != quota.province:
            raise PermissionDenied("not_eligible", _("This invitation is for doctors of %(province)s.")
                                   % {"province": quota.province})
    return quota


@transaction.atomic
def registration_create(*, event: EventPage, doctor, actor=None, invite: str | None = None) -> Registration:
    """Registers `doctor` for `event`: by themselves (actor None or the doctor), through a rep's or region's
    invitation code (`invite`), or invited by staff (`actor` a staff member, confirmed without approval).

    Checks, in this order: the meeting is live (404 `event_not_found`), the registration window (400
    `registration_closed`), the audience rules (403 `not_eligible`), an active registration (409
    `already_registered`), the invitation (400 `invalid_invite`), the frequency rules (403 `frequency_limit`, or
    a stored warning). Then takes a seat of the quota — confirmed (with a ticket) or awaiting approval — or
    joins its waiting list when it is full. Writes the audit entry and the engagement event; the confirmation
    is sent after commit.
    """
    actor = actor if actor is not None else doctor
    by_staff = actor.pk != doctor.pk and is_staff_member(actor)
    if actor.pk != doctor.pk and not by_staff:
        raise PermissionDenied("forbidden", _("You cannot register someone else."))
    event = EventPage.objects.select_related("therapy_area").filter(pk=event.pk).first()
    if event is None or not event.live:
        raise NotFound("event_not_found", _("No such meeting."))
    now = timezone.now()
    window_open, window_message = registration_window(event=event, now=now)
    if not window_open and not (by_staff and now < (event.registration_closes_at or event.starts_at)):
        raise DomainError("registration_closed", window_message, status=400)
    eligibility = event_eligibility(user=doctor, event=event)
    if not eligibility.ok:
        raise PermissionDenied("not_eligible", eligibility.message)
    if Registration.objects.filter(event=event, doctor=doctor, status__in=Registration.ACTIVE).exists():
        raise Conflict("already_registered", _("You are already registered for this meeting."))
    quota = _resolve_quota(event=event, doctor=doctor, invite=invite)
    frequency = frequency_check(doctor=doctor, event=event)
    if frequency.blocked:
        raise PermissionDenied("frequency_limit", frequency.warning)

    if by_staff:
        source, invited_by = Registration.Source.STAFF, actor
    elif quota.kind == Quota.Kind.REP:
        source, invited_by = Registration.Source.REP, quota.rep
    else:
        source, invited_by = Registration.Source.SELF, None

    from members.models import EngagementKind
    from members.services import engagement_record

    # Before the quota lock, to keep the locked stretch short; rolled back with everything else on a refusal.
    engagement_record(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED,
                      source_key=f"meeting_registered:{event.pk}:{doctor.pk}", obj=event,
                      therapy_area=event.therapy_area, metadata={"source": source})

    quota = _lock_quota(quota.pk)
    if quota.taken < quota.seats:
        _take_seat(quota)
        status = Status.PENDING if event.approval_required and not by_staff else Status.CONFIRMED
    else:
        status = Status.WAITLISTED
    try:
        # No savepoint: on a duplicate the Conflict leaves the outer transaction, which rolls the seat back.
        registration = Registration.objects.create(
            event=event, doctor=doctor, quota=quota, holds_seat=status in HOLDING, status=status,
            source=source, invited_by=invited_by, frequency_warning=frequency.warning,
            decided_by=actor if by_staff and status == Status.CONFIRMED else None,
            decided_at=now if by_staff and status == Status.CONFIRMED else None,
        )
    except IntegrityError:
        # A concurrent request of the same doctor got there first; the outer transaction rolls the seat back.
        raise Conflict("already_registered", _("You are already registered for this meeting.")) from None
    if status == Status.CONFIRMED:
        ticket_issue(registration=registration, new=True)
    audit_log(actor=actor, action="events.registration.created", obj=registration,
              after={"status": status, "quota": quota.pk, "source": source,
                     "frequency_warning": frequency.warning or None})
    _notify(registration, status)
    return registration


def _locked_registration(registration_id: int) -> tuple[Registration, Quota | None]:
    """Locks the registration's quota, then the registration (the order every service uses)."""
    quota_id = Registration.objects.filter(pk=registration_id).values_list("quota_id", flat=True).first()
    quota = _lock_quota(quota_id) if quota_id else None
    registration = Registration.objects.select_for_update().select_related("event").filter(
        pk=registration_id).first()
    if registration is None:
        raise NotFound("registration_not_found", _("No such registration."))
    return registration, quota


@transaction.atomic
def registration_cancel(*, registration: Registration, actor, reason: str = "") -> Registration:
    """Cancels an active registration: by the doctor until the cancellation deadline (400
    `cancellation_closed` after), or by staff. Frees its seat, revokes its ticket and promotes the first waiting
    registration of the quota."""
    registration, quota = _locked_registration(registration.pk)
    is_owner = actor is not None and actor.pk == registration.doctor_id
    if not is_owner and not is_staff_member(actor):
        raise NotFound("registration_not_found", _("No such registration."))
    if registration.status not in Registration.ACTIVE:
        raise Conflict("not_active", _("This registration is no longer active."))
    if is_owner and not is_staff_member(actor) and not cancellation_open(event=registration.event):
        raise DomainError("cancellation_closed", _("The cancellation deadline has passed."), status=400)
    before = registration.status
    held = registration.holds_seat
    registration.status = Status.CANCELLED
    registration.holds_seat = False
    registration.cancelled_at = timezone.now()
    registration.reason = (reason or "")[:300]
    registration.save(update_fields=["status", "holds_seat", "cancelled_at", "reason"])
    ticket_revoke(registration=registration, reason=_("Registration cancelled"))
    audit_log(actor=actor, action="events.registration.cancelled", obj=registration, before={"status": before},
              after={"status": Status.CANCELLED}, reason=reason or "")
    if held and quota is not None:
        _free_seat(quota)
        registrations_promote(quota=quota, actor=actor)
    if not is_owner:
        _notify(registration, "cancelled")
    return registration


def _staff_only(actor) -> None:
    if not is_staff_member(actor):
        raise PermissionDenied("forbidden", _("Only meeting staff may decide on registrations."))


@transaction.atomic
def registration_approve(*, registration: Registration, actor) -> Registration:
    """Staff approve a registration awaiting approval: confirmed, with a ticket."""
    _staff_only(actor)
    registration, _quota = _locked_registration(registration.pk)
    if registration.status != Status.PENDING:
        raise Conflict("not_pending", _("This registration is not awaiting approval."))
    _confirm(registration, actor=actor)
    audit_log(actor=actor, action="events.registration.approved", obj=registration,
              before={"status": Status.PENDING}, after={"status": Status.CONFIRMED})
    _notify(registration, "approved")
    return registration


@transaction.atomic
def registration_reject(*, registration: Registration, actor, reason: str = "") -> Registration:
    """Staff reject a registration awaiting approval or waiting; a held seat goes to the waiting list."""
    _staff_only(actor)
    registration, quota = _locked_registration(registration.pk)
    if registration.status not in (Status.PENDING, Status.WAITLISTED):
        raise Conflict("not_pending", _("This registration is not awaiting a decision."))
    before, held = registration.status, registration.holds_seat
    registration.status = Status.REJECTED
    registration.holds_seat = False
    registration.decided_by = actor
    registration.decided_at = timezone.now()
    registration.reason = (reason or "")[:300]
    registration.save(update_fields=["status", "holds_seat", "decided_by", "decided_at", "reason"])
    audit_log(actor=actor, action="events.registration.rejected", obj=registration, before={"status": before},
              after={"status": Status.REJECTED}, reason=reason or "")
    if held and quota is not None:
        _free_seat(quota)
        registrations_promote(quota=quota, actor=actor)
    _notify(registration, "rejected")
    return registration


def registration_staff_invite(*, event: EventPage, doctor, actor) -> Registration:
    """Staff register a doctor (confirmed when a seat is free, or waiting)."""
    _staff_only(actor)
    return registration_create(event=event, doctor=doctor, actor=actor)
