"""Reads behind the doctor-facing meeting pages (index, meeting page, home section) and the reviewers' view of
the agenda, and the one rule of who may see a meeting: `events_visible_to` and `access_event`."""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from cms.pages.models import AUDIENCE_LEVEL, Audience, audiences_for
from engage.core.errors import NotFound, PermissionDenied
from engage.core.prepared import INT_PK_MAX, Prepared
from engage.core.qualification import unqualified_products
from engage.core.roles import Capability, can, is_staff_member
from engage.core.sections import PageSection
from events.pages.models import EventPage, EventSettings, EventType
from events.registrations.models import Quota
from events.registrations.selectors import can_work_on_site, event_product_ids, registration_box_context
from members.accounts.selectors import AccessLevel, access_level_of
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile

PAGE_SIZE = 10
MAX_PAGE = 1000


@dataclass(frozen=True)
class AcademicShare:
    """How many of the agenda's minutes are academic, against the configured floor (percent)."""

    academic_minutes: int
    total_minutes: int
    floor: int

    @property
    def percent(self) -> int | None:
        if not self.total_minutes:
            return None
        return math.floor(100 * self.academic_minutes / self.total_minutes)

    @property
    def below_floor(self) -> bool:
        """An empty agenda is below any positive floor: there is nothing academic to show for the meeting."""
        if not self.total_minutes:
            return self.floor > 0
        return self.academic_minutes * 100 < self.floor * self.total_minutes


def agenda_minutes(agenda) -> tuple[int, int]:
    """(academic minutes, total minutes) of an agenda StreamField value (or a list of item dicts)."""
    academic = total = 0
    for block in agenda or []:
        value = getattr(block, "value", block)
        try:
            minutes = max(int(value.get("minutes") or 0), 0)
        except (TypeError, ValueError, AttributeError):
            continue
        total += minutes
        if value.get("academic"):
            academic += minutes
    return academic, total


def event_academic_share(*, event: EventPage, floor: int | None = None) -> AcademicShare:
    academic, total = agenda_minutes(event.agenda)
    return AcademicShare(academic, total, EventSettings.academic_floor() if floor is None else floor)


@dataclass(frozen=True)
class Seats:
    capacity: int
    taken: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)

    @property
    def full(self) -> bool:
        return self.remaining == 0


def _seats_taken_subquery():
    taken = (Quota.objects.filter(event_id=OuterRef("pk")).values("event_id")
             .annotate(total=Sum("taken")).values("total"))
    return Coalesce(Subquery(taken, output_field=IntegerField()), Value(0))


def event_seats(*, event: EventPage) -> Seats:
    taken = getattr(event, "seats_taken", None)
    if taken is None:
        taken = Quota.objects.filter(event_id=event.pk).aggregate(total=Sum("taken"))["total"] or 0
    return Seats(event.capacity, taken)


@dataclass
class EventFilter:
    """The meeting list's filters, parsed leniently from a query string: bad values are dropped."""

    event_type: str = ""
    area: str = ""
    month: date | None = None
    q: str = ""
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def month_value(self) -> str:
        return self.month.strftime("%Y-%m") if self.month else ""

    @property
    def querystring(self) -> str:
        """The filters as a query-string prefix for pagination links ('' or 'type=webinar&')."""
        pairs = {"q": self.q, "type": self.event_type, "area": self.area, "month": self.month_value}
        encoded = urlencode({key: value for key, value in pairs.items() if value})
        return f"{encoded}&" if encoded else ""

    @classmethod
    def from_query(cls, params) -> "EventFilter":
        result = cls()
        event_type = (params.get("type") or "").strip()
        if event_type in EventType.values:
            result.event_type = event_type
        area = (params.get("area") or "").strip()
        if 0 < len(area) <= 50:
            result.area = area
        result.q = (params.get("q") or "").strip()[:200]
        month = (params.get("month") or "").strip()
        if month:
            try:
                result.month = datetime.strptime(month[:7], "%Y-%m").date()
            except ValueError:
                result.errors.append("month")
        try:
            result.page = min(max(int(params.get("page") or 1), 1), MAX_PAGE)
        except (TypeError, ValueError, OverflowError):
            result.page = 1
        return result


def _upcoming(*, user) -> QuerySet[EventPage]:  # who sees which meeting: events_visible_to

    return events_upcoming_for(user=user)


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(month, time.min))
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return start, timezone.make_aware(datetime.combine(following, time.min))


def event_index_listing(*, user, event_filter: EventFilter, page_size: int = PAGE_SIZE) -> dict:
    """One page of the upcoming meetings `user` may see, filtered; plus the choices the filters offer.

    A fixed number of queries whatever the page size: count, rows (seats and therapy area joined), areas.
    """
    qs = _upcoming(user=user)
    if event_filter.event_type:
        qs = qs.filter(event_type=event_filter.event_type)
    if event_filter.area:
        qs = qs.filter(therapy_area__code=event_filter.area)
    if event_filter.month:
        start, end = _month_bounds(event_filter.month)
        qs = qs.filter(starts_at__lt=end, ends_at__gt=start)
    if event_filter.q:
        qs = qs.filter(event_search_filter(user=user, q=event_filter.q))
    total = qs.count()
    num_pages = max(1, math.ceil(total / page_size))
    page = min(event_filter.page, num_pages)
    rows = (qs.select_related("therapy_area").annotate(seats_taken=_seats_taken_subquery())
            .order_by("starts_at", "pk")[(page - 1) * page_size: page * page_size])
    events = list(rows)
    for event in events:
        event.seats = event_seats(event=event)
    return {
        "events": events, "page_number": page, "num_pages": num_pages, "total": total,
        "has_previous": page > 1, "has_next": page < num_pages,
        "event_types": EventType.choices,
        "areas": list(TherapyArea.objects.filter(events__live=True).distinct().order_by("name")),
    }


def events_for_home(*, user, limit: int = 3) -> list[EventPage]:
    """The next meetings a signed-in member may see, for the home page; nobody else gets a list."""
    if access_level_of(user) < AccessLevel.REGISTERED:
        return []
    events = list(_upcoming(user=user).select_related("therapy_area")
                  .annotate(seats_taken=_seats_taken_subquery()).order_by("starts_at", "pk")[:limit])
    for event in events:
        event.seats = event_seats(event=event)
    return events


def events_home_section(*, user) -> PageSection | None:
    """The home page's "upcoming meetings" block (registered under HOME_SECTIONS_HOOK)."""
    events = events_for_home(user=user)
    if not events:
        return None
    return PageSection(key="meetings", template="events/pages/includes/home_meetings.html", items=events)


def events_member_section(*, user) -> PageSection:
    """The member page's links to their meetings, surveys and (reps) invitation quotas (MEMBER_SECTIONS_HOOK)."""
    return PageSection(key="meetings", template="events/registrations/includes/my_meetings_section.html", order=20,
                       context={"shows_rep_quotas": can(user, Capability.COVER_TERRITORY)})


@dataclass(frozen=True)
class BecomeEligible:
    """What the page tells a person who may not register yet, and the one thing they can do about it."""

    reason: str  # stable: sign_in, complete_profile, await_verification, update_profile, kol_only, ""
    message: str = ""
    action_label: str = ""
    action_url: str = ""


def become_eligible(*, user, event: EventPage) -> BecomeEligible:
    level = access_level_of(user)
    needed = AUDIENCE_LEVEL.get(event.audience, AccessLevel.VERIFIED)
    if level >= needed:
        return BecomeEligible("")
    if level == AccessLevel.ANONYMOUS:
        return BecomeEligible(
            "sign_in", _("Sign in or join as a healthcare professional to register for this meeting."),
            _("Join or sign in"), f"{reverse('account_login')}?{urlencode({'next': event.url or '/'})}")
    if needed == AccessLevel.KOL and level == AccessLevel.VERIFIED:
        return BecomeEligible("kol_only", _("This meeting is for invited speakers and KOLs."))
    member_url = reverse("member_home")
    status = DoctorProfile.objects.filter(user=user).values_list("status", flat=True).first()
    if status is None:
        return BecomeEligible("complete_profile",
                              _("Complete your doctor profile and get verified to register for this meeting."),
                              _("Complete my profile"), member_url)
    if status == DoctorProfile.Status.PENDING:
        return BecomeEligible("await_verification",
                              _("Your profile is being verified. You can register once it is approved."),
                              _("See my verification status"), member_url)
    return BecomeEligible("update_profile",
                          _("Your verification needs attention. Update your profile to register for this meeting."),
                          _("Update my profile"), member_url)


def _map_url(event: EventPage) -> str:
    """An AMap (高德) marker link, which opens the map app inside WeChat too; '' without coordinates."""
    if event.venue_latitude is None or event.venue_longitude is None:
        return ""
    return "https://uri.amap.com/marker?" + urlencode({
        "position": f"{event.venue_longitude},{event.venue_latitude}",
        "name": event.venue_name or event.title, "coordinate": "wgs84", "callnative": "1",
    })


def event_page_context(*, user, event: EventPage, preview: bool = False) -> dict:
    """Everything the meeting page shows besides the page's own fields. Never any attendee's data: only counts.

    `full` is false for a person whose access level is below the meeting's audience (`can_read_event_details`):
    the page then shows only the teaser (title, date, city and how to become eligible)."""

    staff = is_staff_member(user)
    now = timezone.now()
    full = can_read_event_details(user, event)
    return {
        "full": full,
        "seats": event_seats(event=event) if full else None,
        "for_professionals": event.audience in (Audience.VERIFIED, Audience.KOL),
        "become_eligible": become_eligible(user=user, event=event),
        "map_url": _map_url(event) if full else "",
        # A new page's preview has no meeting to register for yet.
        "box": registration_box_context(user=user, event=event) if event.pk and full else None,
        "has_ended": event.ends_at <= now,
        "is_today": timezone.localdate(event.starts_at) == timezone.localdate(now),
        "speakers": list(event.speakers.all()) if full else [],
        # Reviewers read the academic share in the preview; doctors never see it.
        "academic_share": event_academic_share(event=event) if (preview or staff) else None,
        # A rep sees the meeting's products they may not promote yet (product qualification).
        "not_qualified": unqualified_products(user=user, product_ids=event_product_ids(event)) if event.pk else [],
    }


def _detail_audiences(user) -> list[str] | None:
    """The meeting audiences whose details `user` may read; None: all of them (staff)."""
    if is_staff_member(user):
        return None
    return audiences_for(access_level_of(user))


def can_read_event_details(user, event: EventPage) -> bool:
    """May `user` read a meeting's description, agenda, speakers and venue, or only its teaser (title, date,
    city and how to become eligible)? Staff read every meeting; others when their access level reaches its
    audience. The one rule for the meeting page, the events API and meeting search."""
    audiences = _detail_audiences(user)
    return audiences is None or event.audience in audiences


def events_with_detail_access(*, user, events: list[EventPage]) -> list[tuple[EventPage, bool]]:
    """Each meeting with `can_read_event_details` for `user`, deciding the access level once for the list."""
    audiences = _detail_audiences(user)
    return [(event, audiences is None or event.audience in audiences) for event in events]


TEASER_SEARCH_FIELDS = ("title", "city")
DETAIL_SEARCH_FIELDS = ("topic", "description", "venue_name", "venue_address")


def event_search_filter(*, user, q: str) -> Q:
    """Meetings matching every word of `q`: in the teaser's fields for everyone, in the details only where
    `user` may read them (`can_read_event_details`), so a search never reveals what the teaser hides."""
    audiences = _detail_audiences(user)
    condition = Q()
    for word in q.split()[:10]:
        teaser = Q()
        for name in TEASER_SEARCH_FIELDS:
            teaser |= Q(**{f"{name}__icontains": word})
        details = Q()
        for name in DETAIL_SEARCH_FIELDS:
            details |= Q(**{f"{name}__icontains": word})
        if audiences is not None:
            details &= Q(audience__in=audiences)
        condition &= teaser | details
    return condition


def events_visible_to(*, user) -> QuerySet[EventPage]:
    """Meetings whose page `user` may see: live ones of an audience their access level reaches; staff see all
    live meetings. Departments, titles and provinces do not hide a meeting, they gate registration."""
    qs = EventPage.objects.live()
    if not is_staff_member(user):
        qs = qs.filter(audience__in=audiences_for(access_level_of(user)))
    return qs


def events_upcoming_for(*, user, limit: int | None = None) -> QuerySet[EventPage]:
    """Meetings `user` may see that have not ended yet, soonest first."""
    qs = events_visible_to(user=user).filter(ends_at__gt=timezone.now()).order_by("starts_at", "pk")
    return qs[:limit] if limit else qs


class EventUse(StrEnum):
    VIEW = "view"  # the doctor-facing pages and API
    ON_SITE = "on_site"  # scan tickets, upload photos: staff, or a rep holding a quota for the meeting
    MANAGE_CHECKIN = "manage_checkin"  # the check-in dashboard, log, annulment and on-site code: staff


def access_event(*, user, event_id, use: EventUse = EventUse.VIEW, read: EventPage | None = None) -> EventPage:
    """The meeting `event_id` for `use`, or NotFound / PermissionDenied. The one access rule for meetings.
    `read`: for ON_SITE and MANAGE_CHECKIN, the meeting as the caller read it already (with a scanned ticket):
    checked, not read again.

    VIEW: live meetings (staff also reach drafts). Every live meeting page shows its title and how to become
    eligible, so its existence is no secret: who may register is decided by `event_eligibility` (403
    `not_eligible`), not by hiding the meeting. ON_SITE and MANAGE_CHECKIN: any meeting, for those allowed."""
    if use != EventUse.VIEW:
        return _access_event_at_site(user=user, event_id=event_id, use=use, read=read)
    try:
        event_id = int(event_id)
    except (TypeError, ValueError):
        raise NotFound("event_not_found", _("No such meeting.")) from None
    qs = EventPage.objects.all() if is_staff_member(user) else EventPage.objects.live()
    event = qs.filter(pk=event_id).first()
    if event is None:
        raise NotFound("event_not_found", _("No such meeting."))
    return event


PAGE_PK_MAX = INT_PK_MAX  # beyond a page id's integer column there is no page
# The door's scanners ask for the meeting on every scan: compiled once per process (engage.core.prepared).
_event_by_pk = Prepared(EventPage, lambda pk: EventPage.objects.filter(pk=pk)[:1], pk=int)


def _access_event_at_site(*, user, event_id, use: EventUse, read: EventPage | None) -> EventPage:
    try:
        event_id = int(event_id)
    except (TypeError, ValueError):
        event_id = 0
    if read is not None and read.pk == event_id:
        event = read
    else:
        event = _event_by_pk.first(pk=event_id) if 0 < event_id <= PAGE_PK_MAX else None
    if event is None:
        raise NotFound("not_found", _("There is no such meeting."))
    if use == EventUse.ON_SITE and not can_work_on_site(user, event):
        raise PermissionDenied("forbidden", _("You may not check people in at this meeting."))
    if use == EventUse.MANAGE_CHECKIN and not can(user, Capability.MANAGE_CHECKINS):
        raise PermissionDenied("forbidden", _("Only staff may manage the check-in of a meeting."))
    return event


