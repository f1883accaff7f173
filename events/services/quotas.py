"""Quotas (名额分配): a meeting's capacity split into the open quota and per-region or per-rep quotas.

Invariant kept here: the seats of a meeting's quotas add up to its capacity, the open quota taking what the
others leave. Every change locks all the meeting's quota rows in primary-key order (the registration services
lock one quota row), so two allocations cannot interleave and no lock cycle is possible.
"""

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.errors import Conflict, DomainError, NotFound
from engage.roles import Role, has_role
from events.models import EventPage, Quota

from .tickets import invite_code_new


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
    from .registrations import registrations_promote

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
    if rep is not None and not has_role(rep, Role.REP):
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
