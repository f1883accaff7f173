"""Builders for the meetings tests, shared by every events test module.

    event = make_event(capacity=50, approval_required=True)      # published EventPage with its open quota
    doctor = make_doctor()                                        # verified doctor (role + profile)
    quota = make_quota(event, seats=10, rep=make_rep())           # rep quota with an invitation code
    registration = make_registration(event, doctor)               # confirmed, seat held, ticket issued
"""

from datetime import timedelta

from django.utils import timezone

from cms.models import HomePage
from events.models import EventIndexPage, EventPage, Quota, Registration, Ticket
from members.models import DoctorProfile
from tests.factories import DoctorProfileFactory, HospitalFactory, user_with_role


def make_event_index() -> EventIndexPage:
    """The meeting index under the home page (created and published once)."""
    existing = EventIndexPage.objects.first()
    if existing is not None:
        return existing
    index = EventIndexPage(title="学术会议", slug="meetings")
    HomePage.objects.get().add_child(instance=index)
    index.save_revision().publish()
    return index


def make_event(*, publish: bool = True, **fields) -> EventPage:
    """A meeting under the index, published unless `publish=False`, starting in a week unless told otherwise,
    with its open quota holding the whole capacity. Any EventPage field may be passed; `audience_departments`
    takes a list of departments."""
    now = timezone.now()
    departments = fields.pop("audience_departments", None)
    starts_at = fields.pop("starts_at", now + timedelta(days=7))
    n = EventPage.objects.count() + 1
    values = {
        "title": f"糖尿病诊疗进展研讨会 {n}",
        "slug": f"meeting-{n}-{int(now.timestamp() * 1000) % 10**8}",
        "topic": "2型糖尿病的综合管理",
        "venue_name": "上海国际会议中心",
        "venue_address": "上海市浦东新区滨江大道2727号",
        "province": "上海市",
        "city": "上海市",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=3),
        "capacity": 100,
    }
    values.update(fields)
    page = EventPage(**values)
    make_event_index().add_child(instance=page)
    if departments is not None:
        page.audience_departments.set(departments)
    if publish:
        publish_event(page)
    else:
        page.save_revision()
    page = EventPage.objects.get(pk=page.pk)
    from events.services.quotas import quota_open_sync

    quota_open_sync(event=page)
    return page


def publish_event(page: EventPage) -> EventPage:
    """Takes the page's current state through the real review workflow (medical, then compliance approval by the
    test's reviewers); the final approval publishes it. Use after changing a live meeting's fields too."""
    from tests.cms.content import approve_and_publish

    return approve_and_publish(page)


def make_doctor(*, verified: bool = True, kol: bool = False, **profile_fields):
    """A doctor member; verified (or KOL) with a profile by default; `verified=False` gives a pending profile.
    Profile fields (hospital, department, title …) may be passed; `province=` sets the hospital's province."""
    user = user_with_role("doctor")
    province = profile_fields.pop("province", None)
    if province and "hospital" not in profile_fields:
        profile_fields["hospital"] = HospitalFactory(province=province, city=province)
    status = DoctorProfile.Status.VERIFIED if verified or kol else DoctorProfile.Status.PENDING
    DoctorProfileFactory(user=user, status=status, is_speaker=kol,
                         verified_at=timezone.now() if status == DoctorProfile.Status.VERIFIED else None,
                         **profile_fields)
    return user


def make_rep(**kwargs):
    return user_with_role("rep", **kwargs)


def make_staff(role: str = "marketing", **kwargs):
    return user_with_role(role, **kwargs)


def make_quota(event: EventPage, *, seats: int, rep=None, province: str = "", label: str = "") -> Quota:
    """A region quota (`province=`) or rep quota (`rep=`) allocated from the open quota through the service."""
    from events.services.quotas import quota_allocate

    return quota_allocate(event=event, actor=None, seats=seats, rep=rep, province=province, label=label)


def open_quota(event: EventPage) -> Quota:
    return Quota.objects.get(event=event, kind=Quota.Kind.OPEN)


def make_registration(event: EventPage, doctor, status: str = "confirmed", *, quota: Quota | None = None,
                      source: str = "self") -> Registration:
    """A registration row written directly (no eligibility, window or notification): a confirmed or pending
    one holds a seat of its quota (the open quota by default) and a confirmed one has a ticket."""
    from django.db.models import F

    from events.services.tickets import ticket_secret_new

    quota = quota or open_quota(event)
    holds = status in (Registration.Status.CONFIRMED, Registration.Status.PENDING)
    if holds:
        Quota.objects.filter(pk=quota.pk).update(taken=F("taken") + 1)
    registration = Registration.objects.create(event=event, doctor=doctor, quota=quota, holds_seat=holds,
                                               status=status, source=source)
    if status == Registration.Status.CONFIRMED:
        Ticket.objects.create(registration=registration, event=event, secret=ticket_secret_new())
    return registration


def make_ticket(event: EventPage | None = None, doctor=None, **event_fields) -> Ticket:
    """A valid ticket of a confirmed registration (a new meeting and verified doctor unless given)."""
    event = event or make_event(**event_fields)
    registration = make_registration(event, doctor or make_doctor())
    return registration.ticket
