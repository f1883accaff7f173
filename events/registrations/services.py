"""Writes of registrations: quotas (名额分配), self-registration, rep and staff invitations, approval, waiting list,
cancellation, and what doctors are told about their registrations (confirmations, decisions, reminders).

Invariant kept here: the seats of a meeting's quotas add up to its capacity, the open quota taking what the
others leave. Every change locks all the meeting's quota rows in primary-key order (a registration locks one
quota row), so two allocations cannot interleave and no lock cycle is possible."""

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms.reading.selectors import share_code_owner
from engage.audit.models import AuditEntry
from engage.audit.services import audit_entry, audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.inserts import require_columns
from engage.core.jobs import enqueue_on_commit, outbox_flush_on_commit
from engage.core.models import DeferredTask
from engage.core.prepared import planned_cursor
from engage.core.qualification import not_qualified_error
from engage.core.roles import Capability, can, is_staff_member
from events.pages.models import EventPage
from events.registrations.models import FrequencyRule, Quota, Registration, RepInvitation, Ticket
from events.registrations.selectors import (
    access_quota_by_invite,
    cancellation_open,
    event_eligibility,
    quota_to_register_into,
    registration_window,
    rep_not_qualified_for,
)
from events.registrations.tickets import invite_code_new, ticket_issue, ticket_revoke, ticket_secret_new
from members.accounts.models import User
from members.accounts.selectors import remember_access_level
from members.consents.delivery import doctor_notify
from members.engagement.models import EngagementEvent, EngagementKind
from members.engagement.services import engagement_record
from members.hospitals.selectors import access_territory_doctor


def _lock_quotas(event_id: int) -> list[Quota]:
    return list(Quota.objects.select_for_update().filter(event_id=event_id).order_by("pk"))


def _open_of(quotas: list[Quota]) -> Quota | None:
    return next((q for q in quotas if q.kind == Quota.Kind.OPEN), None)


def quota_capacity_check(*, event: EventPage, capacity: int) -> None:
    """Raises `capacity_below_allocated` when `capacity` is lower than the seats held plus the seats allocated
    to regions and reps (for the page form, before a new capacity is saved or published)."""
    if event.pk is None:
        return
    others = Quota.objects.filter(event=event).exclude(kind=Quota.Kind.OPEN).aggregate(s=Sum("seats"))["s"] or 0
    open_taken = Quota.objects.filter(event=event, kind=Quota.Kind.OPEN).values_list("taken", flat=True).first()
    needed = others + (open_taken or 0)
    if capacity < needed:
        raise DomainError(
            "capacity_below_allocated",
            _("The capacity cannot be lower than %(needed)s: seats already taken in the open quota plus seats "
              "allocated to regions and reps. Reduce the allocations first.") % {"needed": needed},
        )


@transaction.atomic
def quota_open_sync(*, event: EventPage, actor=None, strict: bool = True) -> Quota:
    """Creates or resizes the open quota so all quotas add up to the meeting's current capacity.

    A capacity lower than what is allocated and taken raises `capacity_below_allocated` (strict), or, when the
    capacity was already published (non-strict, from the publish signal), keeps the open quota at the seats it
    has taken and records the conflict in the audit log: the CHECK on taken ≤ seats is never broken.
    """
    capacity = EventPage.objects.filter(pk=event.pk).values_list("capacity", flat=True).first()
    if capacity is None:
        raise NotFound("event_not_found", _("No such meeting."))
    quotas = _lock_quotas(event.pk)
    open_quota = _open_of(quotas)
    others = sum(q.seats for q in quotas if q.kind != Quota.Kind.OPEN)
    wanted = capacity - others
    if open_quota is None:
        if wanted < 0 and strict:
            quota_capacity_check(event=event, capacity=capacity)
        open_quota = Quota.objects.create(event_id=event.pk, kind=Quota.Kind.OPEN, seats=max(wanted, 0),
                                          label=str(_("Open registration")))
        return open_quota
    if wanted < open_quota.taken:
        if strict:
            quota_capacity_check(event=event, capacity=capacity)
        audit_log(actor=actor, action="events.quota.capacity_conflict", obj=open_quota,
                  before={"seats": open_quota.seats}, after={"capacity": capacity, "allocated": others},
                  reason="capacity below seats allocated and taken")
        wanted = open_quota.taken
    if wanted != open_quota.seats:
        before = open_quota.seats
        open_quota.seats = wanted
        open_quota.save(update_fields=["seats"])
        audit_log(actor=actor, action="events.quota.open_resized", obj=open_quota, before={"seats": before},
                  after={"seats": wanted})
        if wanted > before:
            _promote(open_quota, actor)
    return open_quota


def _promote(quota: Quota, actor=None) -> None:
    """Seats a quota gained go to its waiting list (the quota row is locked by the caller)."""
    quota.refresh_from_db(fields=["seats", "taken"])
    if quota.taken < quota.seats:
        registrations_promote(quota=quota, actor=actor)


def _take_from_open(quotas: list[Quota], seats_delta: int) -> Quota:
    open_quota = _open_of(quotas)
    if open_quota is None:
        raise DomainError("no_open_quota", _("The meeting has no open quota yet; save its capacity first."))
    if open_quota.seats - seats_delta < open_quota.taken:
        free = open_quota.seats - open_quota.taken
        raise DomainError("not_enough_seats",
                          _("Only %(free)s seats of the open quota are free to allocate.") % {"free": free})
    open_quota.seats -= seats_delta
    open_quota.save(update_fields=["seats"])
    return open_quota


@transaction.atomic
def quota_allocate(*, event: EventPage, actor, seats: int, province: str = "", rep=None, label: str = "") -> Quota:
    """Moves `seats` from the open quota into a new region quota (`province`) or rep quota (`rep`), with its own
    invitation code. Refuses a second quota for the same region or rep, and more seats than the open quota has
    free."""
    if seats is None or seats < 1:
        raise DomainError("invalid_seats", _("Allocate at least one seat."))
    if bool(rep) == bool(province):
        raise DomainError("invalid_quota", _("Choose either a region or a rep."))
    if rep is not None and not can(rep, Capability.COVER_TERRITORY):
        raise DomainError("not_a_rep", _("%(name)s is not a rep.") % {"name": rep})
    quota_open_sync(event=event, actor=actor)
    quotas = _lock_quotas(event.pk)
    _take_from_open(quotas, seats)
    kind = Quota.Kind.REP if rep is not None else Quota.Kind.REGION
    label = (label or (rep.display_name or rep.username if rep is not None else province))[:100]
    try:
        with transaction.atomic():
            quota = Quota.objects.create(event_id=event.pk, kind=kind, province=province.strip()[:50], rep=rep,
                                         seats=seats, label=label, invite_code=invite_code_new())
    except IntegrityError:
        raise Conflict("quota_exists", _("This region or rep already has a quota for the meeting.")) from None
    audit_log(actor=actor, action="events.quota.allocated", obj=quota,
              after={"kind": kind, "seats": seats, "province": province, "rep": rep.pk if rep else None})
    return quota


@transaction.atomic
def quota_resize(*, quota: Quota, actor, seats: int) -> Quota:
    """Changes a region or rep quota's seats; the open quota gives or takes the difference. A quota never
    shrinks below the seats it has taken."""
    if quota.kind == Quota.Kind.OPEN:
        raise DomainError("open_quota_fixed", _("The open quota follows the capacity; change the capacity."))
    quotas = _lock_quotas(quota.event_id)
    current = next((q for q in quotas if q.pk == quota.pk), None)
    if current is None:
        raise NotFound("quota_not_found", _("No such quota."))
    if seats is None or seats < current.taken or seats < 0:
        raise DomainError("seats_below_taken",
                          _("This quota has %(taken)s seats taken; it cannot be smaller.") % {"taken": current.taken})
    open_quota = _take_from_open(quotas, seats - current.seats)
    before = current.seats
    current.seats = seats
    current.save(update_fields=["seats"])
    audit_log(actor=actor, action="events.quota.resized", obj=current, before={"seats": before},
              after={"seats": seats})
    _promote(current if seats > before else open_quota, actor)
    return current


@transaction.atomic
def quota_delete(*, quota: Quota, actor) -> None:
    """Returns an unused region or rep quota's seats to the open quota."""
    if quota.kind == Quota.Kind.OPEN:
        raise DomainError("open_quota_fixed", _("The open quota cannot be removed."))
    quotas = _lock_quotas(quota.event_id)
    current = next((q for q in quotas if q.pk == quota.pk), None)
    if current is None:
        raise NotFound("quota_not_found", _("No such quota."))
    if current.registrations.exists():
        raise Conflict("quota_in_use", _("Doctors have registered through this quota; set it to the seats taken "
                                         "instead of removing it."))
    open_quota = _take_from_open(quotas, -current.seats)
    audit_log(actor=actor, action="events.quota.removed", obj=current, before={"seats": current.seats})
    current.delete()
    _promote(open_quota, actor)


Status = Registration.Status
HOLDING = (Status.PENDING, Status.CONFIRMED)


@dataclass(frozen=True)
class FrequencyCheck:
    blocked: bool
    warning: str


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


def _lock_quota(quota_id: int) -> Quota:
    return Quota.objects.select_for_update().get(pk=quota_id)


def _quota_for_new_registration(quota: Quota) -> Quota:
    """`quota` (as read without a lock), locked for a new registration and read again. A full quota is locked in
    share mode only: the doctors joining its waiting list do not queue behind one another (at a national meeting
    most requests after the first minutes do), while a cancellation or resize, which locks the row exclusively to
    give a seat away, waits for them and they for it. A quota with a free seat, or one that a seat was freed on
    meanwhile, is locked exclusively, as every seat change is. The share lock is taken in a savepoint that is
    rolled back when the quota turns out not to be full, which releases it before the exclusive lock is asked for
    (two requests upgrading their share locks at once would deadlock)."""
    if quota.taken >= quota.seats and connection.vendor == "postgresql":
        savepoint = transaction.savepoint()
        shared = next(iter(Quota.objects.raw("SELECT * FROM events_quota WHERE id = %s FOR SHARE", [quota.pk])))
        if shared.taken >= shared.seats:
            transaction.savepoint_commit(savepoint)
            return shared
        transaction.savepoint_rollback(savepoint)
    return _lock_quota(quota.pk)


# First key of the two-key advisory lock per doctor; any constant no other two-key advisory lock uses ("REGD").
_DOCTOR_LOCK = 0x52454744


def _lock_doctor(doctor_id: int) -> None:
    """Serialises the frequency check and the seat of one doctor's registrations until the transaction ends,
    so two meetings registered at once see each other. Lock order: quota, registration rows, then the doctor."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DOCTOR_LOCK, doctor_id % 2**31])


def _frequency_recheck(registration: Registration) -> FrequencyCheck:
    """The frequency rules again, for a registration about to hold a seat (promotion, approval), under the
    doctor's lock."""
    _lock_doctor(registration.doctor_id)
    return frequency_check(doctor=registration.doctor, event=registration.event)


def _take_seat(quota: Quota) -> None:
    Quota.objects.filter(pk=quota.pk).update(taken=F("taken") + 1)
    quota.taken += 1


def _free_seat(quota: Quota) -> None:
    Quota.objects.filter(pk=quota.pk).update(taken=F("taken") - 1)
    quota.taken -= 1


NOTIFY_TASK = "events.registrations.tasks.registration_notify_task"
ONE_ACTIVE_PER_DOCTOR = "registration_one_active_per_doctor"


def _notify(registration: Registration, what: str) -> None:
    enqueue_on_commit(NOTIFY_TASK, registration.pk, what)


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
    the quota's row lock (inside its transaction). A doctor a block frequency rule now stops stays waiting, with
    the rule's message as the reason, and the next one is promoted."""
    promoted, blocked = [], []
    while quota.taken < quota.seats:
        waiting = (Registration.objects.select_for_update().select_related("event")
                   .filter(quota_id=quota.pk, status=Status.WAITLISTED).exclude(pk__in=blocked)
                   .order_by("pk").first())  # the order the list was joined in: see waitlist_position
        if waiting is None:
            break
        frequency = _frequency_recheck(waiting)
        changed = waiting.frequency_warning != frequency.warning
        if changed:  # a blocked doctor's reason, or the warnings as they are now
            waiting.frequency_warning = frequency.warning
            waiting.save(update_fields=["frequency_warning"])
        if frequency.blocked:
            # Stays first in line with the reason (audited once); the next waiting doctor gets the seat.
            blocked.append(waiting.pk)
            if changed:
                audit_log(actor=actor, action="events.registration.promotion_blocked", obj=waiting,
                          after={"status": Status.WAITLISTED, "frequency_warning": frequency.warning})
            continue
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


def _resolve_quota(*, event: EventPage, doctor, invite: str | None) -> Quota:
    if invite is None or invite == "":
        quota = Quota.objects.filter(event=event, kind=Quota.Kind.OPEN).first()
        if quota is None:

            quota = quota_open_sync(event=event, strict=False)
        return quota
    try:
        quota = access_quota_by_invite(code=invite, event=event)
    except NotFound as error:
        raise DomainError("invalid_invite", error.message, status=400) from None
    _region_check(quota, doctor)
    return quota


def _region_check(quota: Quota, doctor) -> None:
    """A region's invitation is for the doctors of its province (of their hospital)."""
    if quota.kind == Quota.Kind.REGION:
        profile = getattr(doctor, "doctor_profile", None)
        province = profile.hospital.province if profile is not None and profile.hospital_id else ""
        if province != quota.province:
            raise PermissionDenied("not_eligible", _("This invitation is for doctors of %(province)s.")
                                   % {"province": quota.province})


def _require_qualified_inviter(*, invited_by, event: EventPage, by_doctor: bool) -> None:
    """A rep invites only to meetings about products they are qualified for (a current certificate); the
    checker ignores staff. 403 `rep_not_qualified`, with the course that qualifies."""
    missing = rep_not_qualified_for(rep=invited_by, event=event)
    if not missing:
        return
    error = not_qualified_error(missing)
    if by_doctor:  # the doctor followed the rep's link: tell them the link cannot be used, not what to study
        error.message = _("This invitation cannot be used: the rep who sent it may not invite to this meeting. "
                          "You can still register on the meeting page.")
    raise error


def _admissible(*, event: EventPage | None, doctor, by_staff: bool, now, registered: bool,
                department_ids: list[int] | None = None) -> None:
    """The checks before the invitation, in the order `registration_create` documents."""
    if event is None or not event.live:
        raise NotFound("event_not_found", _("No such meeting."))
    window_open, window_message = registration_window(event=event, now=now)
    if not window_open and not (by_staff and now < (event.registration_closes_at or event.starts_at)):
        raise DomainError("registration_closed", window_message, status=400)
    eligibility = event_eligibility(user=doctor, event=event, department_ids=department_ids)
    if not eligibility.ok:
        raise PermissionDenied("not_eligible", eligibility.message)
    if registered:
        raise Conflict("already_registered", _("You are already registered for this meeting."))


def registration_create(*, event: EventPage, doctor, actor=None, invite: str | None = None,
                        ref: str = "") -> Registration:
    """Registers `doctor` for `event`: by themselves (actor None or the doctor), through a rep's or region's
    invitation code (`invite`), or invited by staff (`actor` a staff member, confirmed without approval).
    `ref`: the share code of the link the doctor came through; its owner is recorded as the referrer (an unknown
    code or the doctor's own is ignored).

    Checks, in this order: the meeting is live (404 `event_not_found`), the registration window (400
    `registration_closed`), the audience rules (403 `not_eligible`), an active registration (409
    `already_registered`), the invitation (400 `invalid_invite`), the frequency rules (403 `frequency_limit`, or
    a stored warning). Then takes a seat of the quota — confirmed (with a ticket) or awaiting approval — or
    joins its waiting list when it is full. Writes the audit entry and the engagement event; the confirmation
    is sent after commit.

    A doctor's own registration where no frequency rule applies is one read and one write statement on
    PostgreSQL (`_register_at_once`); the rest takes the general path (`_register_locked`). Both write the same
    rows and keep the same guarantees.
    """
    actor = actor if actor is not None else doctor
    by_staff = actor.pk != doctor.pk and is_staff_member(actor)
    if actor.pk != doctor.pk and not by_staff:
        raise PermissionDenied("forbidden", _("You cannot register someone else."))
    if not by_staff and (registration := _register_at_once(event_id=event.pk, doctor=doctor, invite=invite,
                                                           ref=ref)) is not None:
        return registration
    return _register_locked(event_id=event.pk, doctor=doctor, actor=actor, by_staff=by_staff, invite=invite,
                            ref=ref)


def _register_statement() -> str:
    quota, registration, ticket = Quota._meta.db_table, Registration._meta.db_table, Ticket._meta.db_table
    engagement, audit, outbox = EngagementEvent._meta.db_table, AuditEntry._meta.db_table, DeferredTask._meta.db_table
    written = {
        Registration: ["event_id", "doctor_id", "quota_id", "holds_seat", "status", "source", "invited_by_id",
                       "referrer_id", "frequency_warning", "created_at", "decided_at", "decided_by_id",
                       "cancelled_at", "reason", "reminded_day_before_at", "reminded_hour_before_at"],
        Ticket: ["registration_id", "event_id", "secret", "issued_at", "revoked_at", "revoked_reason"],
        EngagementEvent: ["doctor_id", "kind", "object_type", "object_id", "object_repr", "therapy_area_id",
                          "occurred_at", "metadata", "source_key"],
        AuditEntry: ["created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "object_repr",
                     "before", "after", "reason", "ip_address", "user_agent"],
        DeferredTask: ["name", "args", "kwargs", "error", "attempts", "created_at"],
    }
    require_columns(written)
    # Table names from the models; every value a parameter.
    return f"""WITH seat AS (
    UPDATE "{quota}" SET "taken" = "taken" + 1 WHERE "id" = %(quota)s AND "taken" < "seats" RETURNING "id"
), queue AS (
    -- Full: the share lock keeps a cancellation (which locks the quota exclusively to give its seat away) waiting
    -- until this waiting-list row is committed and visible to it; joiners of the list do not wait for each other.
    SELECT "taken" >= "seats" AS "full" FROM "{quota}"
    WHERE "id" = %(quota)s AND NOT EXISTS (SELECT 1 FROM seat) FOR SHARE
), decided AS (
    -- NULL: a seat was freed between the two (nothing is written; the caller tries again)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM seat) THEN %(seated)s
                WHEN (SELECT "full" FROM queue) THEN %(waitlisted)s END AS "status"
), registration AS (
    INSERT INTO "{registration}" ("event_id", "doctor_id", "quota_id", "holds_seat", "status", "source",
        "invited_by_id", "referrer_id", "frequency_warning", "created_at", "decided_at", "decided_by_id",
        "cancelled_at", "reason", "reminded_day_before_at", "reminded_hour_before_at")
    -- Its time is taken once the seat or the queue was decided (after any wait for the quota's lock), so the
    -- seated registrations of a quota are older than its waiting ones, as under the general path.
    SELECT %(event)s, %(doctor)s, %(quota)s, "status" <> %(waitlisted)s, "status", %(source)s, %(invited_by)s,
           %(referrer)s, '', clock_timestamp(), NULL, NULL, NULL, '', NULL, NULL
    FROM decided WHERE "status" IS NOT NULL
    RETURNING "id", "status", "created_at"
), ticket AS (
    INSERT INTO "{ticket}" ("registration_id", "event_id", "secret", "issued_at", "revoked_at", "revoked_reason")
    SELECT "id", %(event)s, %(secret)s, "created_at", NULL, '' FROM registration WHERE "status" = %(confirmed)s
    RETURNING "id"
), engagement AS (
    INSERT INTO "{engagement}" ("doctor_id", "kind", "object_type", "object_id", "object_repr", "therapy_area_id",
                                "occurred_at", "metadata", "source_key")
    SELECT %(doctor)s, %(engagement_kind)s, %(event_type)s, %(event_id_text)s, %(event_repr)s, %(therapy_area)s,
           "created_at", %(engagement_metadata)s::jsonb, %(engagement_key)s FROM registration
    ON CONFLICT ("source_key") DO NOTHING
), audit AS (
    INSERT INTO "{audit}" ("created_at", "actor_id", "actor_label", "action", "object_type", "object_id",
                           "object_repr", "before", "after", "reason", "ip_address", "user_agent")
    SELECT "created_at", %(actor_id)s, %(actor_label)s, %(action)s, %(registration_type)s, "id"::text,
           CASE WHEN "status" = %(waitlisted)s THEN %(repr_waitlisted)s ELSE %(repr_seated)s END, NULL,
           jsonb_set(%(after)s::jsonb, '{{status}}', to_jsonb("status")), '', %(ip)s, %(user_agent)s
    FROM registration
), outbox AS (
    INSERT INTO "{outbox}" ("name", "args", "kwargs", "error", "attempts", "created_at")
    SELECT %(task)s, jsonb_build_array("id", "status"), '{{}}'::jsonb, '', 0, "created_at" FROM registration
)
SELECT "id", "status", "created_at", (SELECT "id" FROM ticket) FROM registration"""  # noqa: S608


_REGISTER_STATEMENT: list[str] = []  # built on first use, once the models are loaded


def _register_at_once(*, event_id: int, doctor, invite: str | None, ref: str) -> Registration | None:
    """A doctor's own registration as one read and one write statement (PostgreSQL), where no frequency rule
    applies: the read (`quota_to_register_into`) brings the quota with its meeting and what the checks need; the
    write takes a seat if the quota has one (the UPDATE locks its row until the statement ends) or joins the
    waiting list under a share lock, and writes the registration, its ticket, the engagement event, the audit
    entry and the confirmation's outbox row — all or none, the same rows `_register_locked` writes. A concurrent
    registration of the same doctor fails on `registration_one_active_per_doctor` and undoes the whole
    statement. None when this path does not apply (another database, an invitation that opens no quota, no open
    quota yet, active frequency rules for a sponsored meeting): the general path then decides."""
    if connection.vendor != "postgresql":
        return None
    quota = quota_to_register_into(event_id=event_id, doctor_id=doctor.pk, invite=invite)
    if quota is None:
        return None
    event = quota.event
    if event.sponsored and quota.frequency_rules_active:
        return None  # the frequency rules count the doctor's meetings under the doctor's lock: the general path
    if getattr(doctor, "_engage_access_level", None) is None:
        remember_access_level(doctor, quota.doctor_level)
    now = timezone.now()
    _admissible(event=event, doctor=doctor, by_staff=False, now=now, registered=quota.doctor_registered,
                department_ids=quota.audience_department_ids)
    _region_check(quota, doctor)
    if quota.kind == Quota.Kind.REP:
        source, invited_by_id = Registration.Source.REP, quota.rep_id
        if quota.event_has_products:
            _require_qualified_inviter(invited_by=quota.rep, event=event, by_doctor=True)
    else:
        source, invited_by_id = Registration.Source.SELF, None
    referrer = share_code_owner(code=ref, reader=doctor) if ref else None
    seated = Status.PENDING if event.approval_required else Status.CONFIRMED
    registration = Registration(event=event, doctor=doctor, quota=quota, source=source, invited_by_id=invited_by_id,
                                referrer=referrer, frequency_warning="")
    reprs = {}
    for status in (seated, Status.WAITLISTED):
        registration.status = status
        reprs[status] = str(registration)[:300]
    entry = audit_entry(actor=doctor, action="events.registration.created")  # who and from where
    secret = ticket_secret_new()
    values = {
        "quota": quota.pk, "seated": seated, "waitlisted": Status.WAITLISTED, "confirmed": Status.CONFIRMED,
        "event": event.pk, "doctor": doctor.pk, "source": source, "invited_by": invited_by_id,
        "referrer": referrer.pk if referrer is not None else None, "secret": secret,
        "engagement_kind": EngagementKind.MEETING_REGISTERED.value, "event_type": event._meta.label_lower,
        "event_id_text": str(event.pk), "event_repr": str(event)[:300], "therapy_area": event.therapy_area_id,
        "engagement_metadata": json.dumps({"source": source}),
        "engagement_key": f"meeting_registered:{event.pk}:{doctor.pk}",
        "actor_id": entry.actor_id, "actor_label": entry.actor_label, "action": entry.action,
        "registration_type": Registration._meta.label_lower, "repr_seated": reprs[seated],
        "repr_waitlisted": reprs[Status.WAITLISTED], "ip": entry.ip_address, "user_agent": entry.user_agent,
        "after": json.dumps({"status": None, "quota": quota.pk, "source": source,
                             "referrer": referrer.pk if referrer is not None else None, "frequency_warning": None}),
        "task": NOTIFY_TASK,
    }
    if not _REGISTER_STATEMENT:
        _REGISTER_STATEMENT.append(_register_statement())
    for _attempt in range(3):
        try:
            # Inside a transaction a refused statement would abort it: a savepoint keeps it usable.
            with (transaction.atomic() if connection.in_atomic_block else nullcontext(),
                  planned_cursor(connection) as cursor):
                cursor.execute(_REGISTER_STATEMENT[0], values)
                found = cursor.fetchone()
        except IntegrityError as exc:
            if getattr(exc.__cause__, "diag", None) is not None and \
                    exc.__cause__.diag.constraint_name == ONE_ACTIVE_PER_DOCTOR:
                raise Conflict("already_registered", _("You are already registered for this meeting.")) from None
            raise
        if found is not None:
            break
    else:
        return None  # seats freed under it three times running: the general path locks and decides
    registration.pk, registration.status, registration.created_at, ticket_id = found
    registration.holds_seat = registration.status in HOLDING
    registration._state.adding, registration._state.db = False, connection.alias
    if ticket_id is not None:
        ticket = Ticket(pk=ticket_id, registration=registration, event_id=event.pk, secret=secret,
                        issued_at=registration.created_at,
                        revoked_at=None, revoked_reason="")
        ticket._state.adding, ticket._state.db = False, connection.alias
        registration.ticket = ticket
    outbox_flush_on_commit()
    return registration


@transaction.atomic
def _register_locked(*, event_id: int, doctor, actor, by_staff: bool, invite: str | None,
                     ref: str) -> Registration:
    """`registration_create`'s general path: the checks, then the quota locked (see
    `_quota_for_new_registration`) and the doctor's lock for the frequency rules, in one transaction."""
    event = EventPage.objects.select_related("therapy_area").filter(pk=event_id).first()
    now = timezone.now()
    _admissible(event=event, doctor=doctor, by_staff=by_staff, now=now, registered=event is not None and (
        Registration.objects.filter(event=event, doctor=doctor, status__in=Registration.ACTIVE).exists()))
    quota = _resolve_quota(event=event, doctor=doctor, invite=invite)

    if by_staff:
        source, invited_by = Registration.Source.STAFF, actor
    elif quota.kind == Quota.Kind.REP:
        source, invited_by = Registration.Source.REP, quota.rep
    else:
        source, invited_by = Registration.Source.SELF, None
    _require_qualified_inviter(invited_by=invited_by, event=event, by_doctor=invited_by is not actor)


    # Before the quota lock, to keep the locked stretch short; rolled back with everything else on a refusal.
    engagement_record(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED,
                      source_key=f"meeting_registered:{event.pk}:{doctor.pk}", obj=event,
                      therapy_area=event.therapy_area, metadata={"source": source})

    quota = _quota_for_new_registration(quota)
    _lock_doctor(doctor.pk)
    frequency = frequency_check(doctor=doctor, event=event)
    if frequency.blocked:
        raise PermissionDenied("frequency_limit", frequency.warning)
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
            referrer=share_code_owner(code=ref, reader=doctor) if ref and not by_staff else None,
            decided_by=actor if by_staff and status == Status.CONFIRMED else None,
            decided_at=now if by_staff and status == Status.CONFIRMED else None,
        )
    except IntegrityError:
        # A concurrent request of the same doctor got there first; the outer transaction rolls the seat back.
        raise Conflict("already_registered", _("You are already registered for this meeting.")) from None
    if status == Status.CONFIRMED:
        ticket_issue(registration=registration, new=True)
    audit_log(actor=actor, action="events.registration.created", obj=registration,
              after={"status": status, "quota": quota.pk, "source": source, "referrer": registration.referrer_id,
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
def registration_cancel(*, registration: Registration, actor, reason: str = "",
                        account_closing: bool = False) -> Registration:
    """Cancels an active registration: by the doctor until the cancellation deadline (400
    `cancellation_closed` after), or by staff. Frees its seat, revokes its ticket and promotes the first waiting
    registration of the quota. A doctor closing their account cancels whatever the deadline (`account_closing`):
    nobody can attend with a closed account."""
    registration, quota = _locked_registration(registration.pk)
    is_owner = actor is not None and actor.pk == registration.doctor_id
    if not is_owner and not is_staff_member(actor):
        raise NotFound("registration_not_found", _("No such registration."))
    if registration.status not in Registration.ACTIVE:
        raise Conflict("not_active", _("This registration is no longer active."))
    if is_owner and not is_staff_member(actor) and not account_closing \
            and not cancellation_open(event=registration.event):
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
    """Staff approve a registration awaiting approval: confirmed, with a ticket. A block frequency rule is
    checked again (403 `frequency_limit`, the registration stays awaiting approval)."""
    _staff_only(actor)
    registration, _quota = _locked_registration(registration.pk)
    if registration.status != Status.PENDING:
        raise Conflict("not_pending", _("This registration is not awaiting approval."))
    frequency = _frequency_recheck(registration)
    if frequency.blocked:
        raise PermissionDenied("frequency_limit", frequency.warning)
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
    _notification, created = doctor_notify(
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
        doctor_notify(user=registration.doctor, kind=REMINDER_KIND, title=title, body=body,
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


INVITATION_KIND = "event_invitation"


def rep_invitation_send(*, rep, quota_id: int, doctor_id: int) -> RepInvitation:
    """A rep invites one verified doctor of their territory to a meeting of one of their quotas. The doctor is told
    in the inbox and, where they consented, over WeChat/SMS (doctor_notify), with the quota's invitation link, so
    the registration takes a seat of that quota. Refused: who is not a rep, another rep's or an unknown quota, a
    meeting that is not published or has ended, a doctor outside the territory (not found), a doctor the meeting's
    audience excludes, one already registered or already invited to this quota, and a quota with no seat left."""
    if not can(rep, Capability.COVER_TERRITORY):
        raise PermissionDenied("not_a_rep", _("Only reps invite doctors into a quota."))
    profile = access_territory_doctor(user=rep, doctor_id=doctor_id)
    with transaction.atomic():
        quota = (Quota.objects.select_for_update().select_related("event")
                 .filter(pk=quota_id, rep=rep, kind=Quota.Kind.REP).first())
        if quota is None:
            raise NotFound("quota_not_found", _("This is not one of your quotas."))
        event = quota.event
        if not event.live or event.ends_at <= timezone.now():
            raise Conflict("meeting_closed", _("This meeting is not open for invitations."))
        doctor = User.objects.get(pk=profile.user_id)
        if not event_eligibility(user=doctor, event=event):
            raise Conflict("not_eligible", _("This meeting's audience does not include this doctor."))
        if Registration.objects.filter(doctor=doctor, event=event, status__in=Registration.ACTIVE).exists():
            raise Conflict("already_registered", _("This doctor is already registered for this meeting."))
        if quota.taken >= quota.seats:
            raise Conflict("quota_full", _("Your quota for this meeting has no seat left."))
        try:
            with transaction.atomic():
                invitation = RepInvitation.objects.create(quota=quota, doctor=doctor, rep=rep)
        except IntegrityError:
            raise Conflict("already_invited", _("You have already invited this doctor to this meeting.")) from None
        audit_log(actor=rep, action="events.rep_invitation.sent", obj=invitation,
                  after={"quota": quota.pk, "event": event.pk, "doctor": doctor.pk})
        params = {"title": event.title, "when": date_format(timezone.localtime(event.starts_at), "Y-m-d H:i"),
                  "venue": event.venue_name or _("Online")}
        doctor_notify(user=doctor, kind=INVITATION_KIND, title=_("Invitation: %(title)s") % params,
                      body=_("%(when)s, %(venue)s. Open the invitation to register.") % params,
                      url=reverse("events:invitation", args=[quota.invite_code]),
                      key=f"rep_invitation:{invitation.pk}")
    return invitation
