"""Reads of registrations: who may register for a meeting (eligibility, window, seats), whose registrations,
tickets and quotas are whose, and who may work on site (staff, or a rep holding a quota for the meeting)."""

import re
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.pages.models import AUDIENCE_LEVEL, ContentPage
from engage.core.errors import NotFound, PermissionDenied
from engage.core.prepared import INT_PK_MAX, Prepared
from engage.core.qualification import Missing, unqualified_products
from engage.core.roles import Capability, can, is_staff_member
from engage.core.sections import RepAction
from events.pages.models import EventPage
from events.registrations.models import FrequencyRule, Quota, Registration, RepInvitation, Ticket
from events.surveys.models import SurveyResponse
from members.accounts.models import User
from members.accounts.selectors import AccessLevel, access_level_expression, access_level_of
from members.hospitals.selectors import territory_profiles
from members.profiles.models import DoctorProfile

_CODE_RE = re.compile(r"[0-9A-Za-z]{4,40}")  # ticket secrets and invitation codes (events.registrations.tickets)


def _profile_of(user):
    cached = getattr(user, "_engage_event_profile", False)
    if cached is not False:
        return cached
    profile = DoctorProfile.objects.select_related("hospital").filter(user=user).first()
    user._engage_event_profile = profile
    return profile


@dataclass(frozen=True)
class Eligibility:
    """Whether a person may register for a meeting; `code` is stable ("eligible", "sign_in_required",
    "not_eligible"), `message` is for people."""

    ok: bool
    code: str
    message: str

    def __bool__(self):
        return self.ok


def event_eligibility(*, user, event: EventPage, department_ids: list[int] | None = None) -> Eligibility:
    """The audience rules of `event` applied to `user`: the access level the meeting's audience needs, then the
    optional departments, professional titles and provinces (of the doctor's hospital). `department_ids`: the
    meeting's audience departments when the caller read them already."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Eligibility(False, "sign_in_required", _("Sign in to register for this meeting."))
    needed = AUDIENCE_LEVEL.get(event.audience, AccessLevel.VERIFIED)
    level = access_level_of(user)
    if level < needed:
        if needed >= AccessLevel.KOL:
            message = _("This meeting is for invited speakers and KOLs.")
        elif needed >= AccessLevel.VERIFIED:
            message = _("This meeting is for verified healthcare professionals. Complete your verification first.")
        else:
            message = _("Sign in to register for this meeting.")
        return Eligibility(False, "not_eligible", message)
    if department_ids is None:
        department_ids = [d.pk for d in event.audience_departments.all()] if event.pk else []
    titles = [t for t in (event.audience_titles or []) if t]
    provinces = [p for p in (event.audience_provinces or []) if p]
    if department_ids or titles or provinces:
        profile = _profile_of(user)
        if profile is None:
            return Eligibility(False, "not_eligible", _("This meeting is for doctors with a verified profile."))
        if department_ids and profile.department_id not in department_ids:
            return Eligibility(False, "not_eligible", _("This meeting is for doctors of other departments."))
        if titles and profile.title not in titles:
            return Eligibility(False, "not_eligible",
                               _("This meeting is for doctors with another professional title."))
        if provinces and (profile.hospital.province if profile.hospital_id else "") not in provinces:
            return Eligibility(False, "not_eligible", _("This meeting is for doctors of other provinces."))
    return Eligibility(True, "eligible", "")


def registrations_of(*, doctor) -> QuerySet[Registration]:
    """The doctor's registrations, newest meeting first, with meeting and ticket."""
    return (Registration.objects.filter(doctor=doctor).select_related("event", "ticket", "quota")
            .order_by("-event__starts_at", "-created_at"))


def my_meetings_of(*, doctor, now=None, limit: int = 100) -> dict:
    """我的会议: {"upcoming": meetings not yet ended, soonest first; "past": ended ones, most recent first}, each
    registration with `checked_in_at` (its check-in that was not annulled, else None)."""
    now = now or timezone.now()
    rows = (Registration.objects.filter(doctor=doctor).select_related("event", "ticket", "quota")
            .annotate(checked_in_at=Min("checkins__checked_in_at", filter=Q(checkins__annulled_at__isnull=True))))
    upcoming = list(rows.filter(event__ends_at__gt=now).order_by("event__starts_at", "created_at")[:limit])
    past = list(rows.filter(event__ends_at__lte=now).order_by("-event__starts_at", "-created_at")[:limit])
    return {"upcoming": upcoming, "past": past}


def registration_active_of(*, doctor, event) -> Registration | None:
    """The doctor's active (awaiting approval, confirmed or waiting) registration for `event`, if any."""
    if doctor is None or not getattr(doctor, "is_authenticated", False):
        return None
    return (Registration.objects.filter(doctor=doctor, event=event, status__in=Registration.ACTIVE)
            .select_related("ticket").first())


def waitlist_position(*, registration: Registration) -> int | None:
    """1-based place of a waiting registration in its quota's queue. The queue is in the order the database
    numbered the registrations (its sequence), not by their timestamps: doctors join a full quota's list at the
    same time (events.registrations.services._quota_for_new_registration), and the clocks of several web servers
    are no arbiter between them."""
    if registration.status != Registration.Status.WAITLISTED:
        return None
    earlier = Registration.objects.filter(
        event_id=registration.event_id, quota_id=registration.quota_id, status=Registration.Status.WAITLISTED,
        pk__lt=registration.pk)
    return earlier.count() + 1


def access_ticket(*, user, secret: str) -> Ticket:
    """The ticket with `secret` if `user` owns it; NotFound otherwise (never tells who owns it). Nobody else sees
    a ticket: staff and reps check a doctor in by scanning it or by choosing the doctor (events.checkin)."""
    if not isinstance(secret, str) or not _CODE_RE.fullmatch(secret.strip()):
        raise NotFound("ticket_not_found", _("No such ticket."))
    ticket = (Ticket.objects.select_related("registration", "registration__doctor", "event")
              .filter(secret=secret.strip().upper()).first())
    if ticket is None or not getattr(user, "is_authenticated", False):
        raise NotFound("ticket_not_found", _("No such ticket."))
    if ticket.registration.doctor_id != user.pk:
        raise NotFound("ticket_not_found", _("No such ticket."))
    return ticket


def access_quota_by_invite(*, code: str, event: EventPage | None = None) -> Quota:
    """The quota an invitation code opens (of `event` when given); NotFound for unknown or forged codes."""
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code.strip()):
        raise NotFound("invalid_invite", _("This invitation link is not valid."))
    qs = Quota.objects.select_related("event", "rep").filter(invite_code=code.strip().upper())
    if event is not None:
        qs = qs.filter(event=event)
    quota = qs.first()
    if quota is None:
        raise NotFound("invalid_invite", _("This invitation link is not valid."))
    return quota


_UNREAD_EVENT_TEXT = ["event__description", "event__agenda"]


def _quota_to_register_into(by_invite: bool):
    def build(*, event_id: int, doctor_id: int, code: str = "") -> QuerySet[Quota]:
        # The meeting's page without its text (description, agenda): no decision reads them, and parsing the
        # agenda's blocks cost every registration more than the rest of the meeting's row.
        quotas = (Quota.objects.select_related("event", "event__therapy_area").defer(*_UNREAD_EVENT_TEXT)
                  .filter(event_id=event_id))
        quotas = quotas.filter(invite_code=code) if by_invite else quotas.filter(kind=Quota.Kind.OPEN)
        return quotas.annotate(
            doctor_registered=Exists(Registration.objects.filter(event_id=event_id, doctor_id=doctor_id,
                                                                 status__in=Registration.ACTIVE)),
            doctor_level=access_level_expression(user=doctor_id),
            audience_department_ids=ArraySubquery(EventPage.audience_departments.through.objects
                                                  .filter(eventpage_id=event_id).values("department_id")),
            event_has_products=Exists(EventPage.products.through.objects.filter(eventpage_id=event_id)),
            frequency_rules_active=Exists(FrequencyRule.objects.filter(active=True)),
        ).order_by("pk")[:1]

    kinds = {"event_id": int, "doctor_id": int} | ({"code": str} if by_invite else {})
    return Prepared(Quota, build, **kinds)


# PostgreSQL only (an array subquery); compiled once per process (engage.core.prepared).
_quota_by_invite = _quota_to_register_into(by_invite=True)
_open_quota = _quota_to_register_into(by_invite=False)


def quota_to_register_into(*, event_id: int, doctor_id: int, invite: str | None) -> Quota | None:
    """Everything a doctor's own registration decides on, in one statement (PostgreSQL): the quota the invitation
    code opens (the open quota without one) with its meeting and therapy area attached, and as attributes whether
    the doctor holds an active registration (`doctor_registered`), their access level (`doctor_level`, None: no
    doctor profile), the meeting's audience departments (`audience_department_ids`), whether it has products
    (`event_has_products`) and whether any frequency rule is active (`frequency_rules_active`). None when the
    code is malformed or opens no quota of the meeting, when the meeting has no open quota yet, or for an id
    the database cannot hold: the caller's general path then says why, or creates the open quota."""
    if not (0 < event_id <= INT_PK_MAX and 0 < doctor_id <= INT_PK_MAX):
        return None
    if invite is None or invite == "":
        return _open_quota.first(event_id=event_id, doctor_id=doctor_id)
    if not isinstance(invite, str) or not _CODE_RE.fullmatch(invite.strip()):
        return None
    return _quota_by_invite.first(event_id=event_id, doctor_id=doctor_id, code=invite.strip().upper())


def event_product_ids(event) -> list[int]:
    return list(EventPage.products.through.objects.filter(eventpage_id=event.pk).values_list("product_id", flat=True))


def rep_not_qualified_for(*, rep, event) -> list[Missing]:
    """The products of `event` that `rep` may not promote yet (product qualification, engage.core.qualification):
    they may not invite doctors to it while this is not empty. Read fresh: a lapsed certificate counts at once."""
    if rep is None:
        return []
    return unqualified_products(user=rep, product_ids=event_product_ids(event))


def quotas_of_rep(*, rep) -> QuerySet[Quota]:
    """A rep's quotas of meetings that have not ended, soonest first."""
    if not can(rep, Capability.COVER_TERRITORY):
        raise PermissionDenied("not_a_rep", _("Only reps have invitation quotas."))
    return (Quota.objects.filter(rep=rep, event__ends_at__gt=timezone.now()).select_related("event")
            .order_by("event__starts_at"))


def quotas_of_event(*, event) -> QuerySet[Quota]:
    return Quota.objects.filter(event=event).select_related("rep").order_by("kind", "label", "pk")


def registration_window(*, event: EventPage, now=None) -> tuple[bool, str]:
    """(open, why-not message)."""
    now = now or timezone.now()
    if event.registration_opens_at and now < event.registration_opens_at:
        return False, _("Registration has not opened yet.")
    closes = event.registration_closes_at or event.starts_at
    if now >= closes:
        return False, _("Registration for this meeting is closed.")
    return True, ""


def cancellation_open(*, event: EventPage, now=None) -> bool:
    now = now or timezone.now()
    return now < (event.cancellation_deadline or event.starts_at)


def registration_box_context(*, user, event: EventPage) -> dict:
    """What the registration box on a meeting page shows: the person's registration, whether they may
    register, cancel, and why not."""
    event = event.specific if hasattr(event, "specific") and not isinstance(event, EventPage) else event
    registration = registration_active_of(doctor=user, event=event)
    window_open, window_message = registration_window(event=event)
    eligibility = event_eligibility(user=user, event=event)
    ticket = getattr(registration, "ticket", None) if registration else None
    if ticket is not None and ticket.revoked_at:
        ticket = None
    return {
        "event": event,
        "registration": registration,
        "ticket": ticket,
        "waitlist_position": waitlist_position(registration=registration) if registration else None,
        "eligibility": eligibility,
        "window_open": window_open,
        "window_message": window_message,
        "can_register": registration is None and window_open and eligibility.ok,
        "can_cancel": registration is not None and cancellation_open(event=event),
        "signed_in": bool(getattr(user, "is_authenticated", False)),
    }


def can_manage_registrations(user) -> bool:
    """Marketing and admins allocate quotas, invite, approve and reject; other staff read."""
    return can(user, Capability.MANAGE_REGISTRATIONS)


def can_view_registrations(user) -> bool:
    return can(user, Capability.VIEW_MEETINGS_ADMIN)


def holds_quota(user, event) -> bool:
    """A rep holding a quota for `event`: the meeting their doctors come to."""
    return can(user, Capability.COVER_TERRITORY) and Quota.objects.filter(event=event, rep=user).exists()


def can_work_on_site(user, event) -> bool:
    """Staff, or a rep holding a quota for this meeting: who may scan tickets and upload on-site photos there."""
    return can(user, Capability.WORK_ON_SITE) or holds_quota(user, event)


def can_see_invitation(user, quota: Quota) -> bool:
    """An invitation link and its QR: the quota's rep and staff."""
    return is_staff_member(user) or quota.rep_id == user.pk


def events_for_registration_admin() -> QuerySet[EventPage]:
    """Meetings with their registration counts, upcoming first then the most recent past ones."""
    from django.db.models import Count

    counts = {f"n_{s.value}": Count("registrations", filter=Q(registrations__status=s.value))
              for s in (Registration.Status.CONFIRMED, Registration.Status.PENDING, Registration.Status.WAITLISTED)}
    return EventPage.objects.annotate(**counts).order_by("-starts_at")


def registrations_for_event(*, event, status: str | None = None) -> QuerySet[Registration]:
    qs = (Registration.objects.filter(event=event)
          .select_related("doctor", "doctor__doctor_profile", "doctor__doctor_profile__hospital",
                          "doctor__doctor_profile__department", "quota", "ticket", "invited_by")
          .order_by("created_at", "pk"))
    if status in Registration.Status.values:
        qs = qs.filter(status=status)
    return qs


def doctor_lookup(*, query: str):
    """A doctor by mobile number (+86 optional), username or email, for staff invitations."""
    query = (query or "").strip()[:100]
    if not query:
        return None
    candidates = {query}
    digits = query.replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) == 11:
        candidates.add(f"+86{digits}")
    return (User.objects.filter(Q(mobile__in=candidates) | Q(username=query) | Q(email__iexact=query))
            .filter(is_active=True).first())


@dataclass(frozen=True)
class InvitedDoctor:
    """One doctor a rep brought to a meeting (invited personally or registered through the rep's link)."""

    doctor_id: int
    name: str
    event: EventPage
    invited_at: object  # datetime or None (registered through the link without a personal invitation)
    registration_status: str  # a Registration.Status value, or "" when not registered
    registration_label: str
    attended: bool
    answered_survey: bool


def rep_invited_doctors(*, rep) -> list[InvitedDoctor]:
    """The doctors of `rep`'s territory whom the rep invited into a quota or who registered through one of the
    rep's quotas: per meeting, whether they registered, attended (a check-in not annulled) and answered the
    meeting's survey. Never points, never doctors outside the territory (a link may travel further)."""
    if not can(rep, Capability.COVER_TERRITORY):
        raise PermissionDenied("not_a_rep", _("Only reps have invitation quotas."))
    territory = dict(territory_profiles(rep).values_list("user_id", "real_name"))
    quotas = Quota.objects.filter(rep=rep)
    pairs: dict[tuple[int, int], dict] = {}
    for invitation in (RepInvitation.objects.filter(rep=rep, doctor_id__in=list(territory))
                       .select_related("quota__event").order_by("-created_at")):
        pairs[(invitation.quota.event_id, invitation.doctor_id)] = {"event": invitation.quota.event,
                                                                     "invited_at": invitation.created_at}
    registrations = (Registration.objects.filter(quota__in=quotas, doctor_id__in=list(territory))
                     .select_related("event").order_by("-created_at"))
    by_pair = {}
    for registration in registrations:
        key = (registration.event_id, registration.doctor_id)
        by_pair.setdefault(key, registration)  # the newest registration of that doctor for that meeting
        pairs.setdefault(key, {"event": registration.event, "invited_at": None})
    for key in pairs:  # an invited doctor may have registered another way: still the rep's invitation at work
        if key not in by_pair:
            other = (Registration.objects.filter(event_id=key[0], doctor_id=key[1])
                     .order_by("-created_at").first())
            if other is not None:
                by_pair[key] = other
    event_ids = {key[0] for key in pairs}
    doctor_ids = {key[1] for key in pairs}
    attended = set(Registration.objects.filter(
        event_id__in=event_ids, doctor_id__in=doctor_ids, checkins__annulled_at__isnull=True,
        checkins__isnull=False).values_list("event_id", "doctor_id"))
    answered = set(SurveyResponse.objects.filter(survey__event_id__in=event_ids, doctor_id__in=doctor_ids)
                   .values_list("survey__event_id", "doctor_id"))
    rows = []
    for key, info in pairs.items():
        registration = by_pair.get(key)
        rows.append(InvitedDoctor(
            doctor_id=key[1], name=territory[key[1]], event=info["event"], invited_at=info["invited_at"],
            registration_status=registration.status if registration else "",
            registration_label=registration.get_status_display() if registration else "",
            attended=key in attended, answered_survey=key in answered))
    rows.sort(key=lambda row: (row.event.starts_at, row.name), reverse=True)
    return rows


def _approved_content():
    # Live means approved by the review workflow; expired content is no longer approved for promotion.
    now = timezone.now()
    return ContentPage.objects.live().public().filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).specific()


def share_targets_for_rep(*, rep, limit: int = 30) -> list:
    """What a rep may share: live (approved, not expired) content pages and published meetings that have not
    ended, newest first."""
    if not can(rep, Capability.COVER_TERRITORY):
        raise PermissionDenied("not_a_rep", _("Only reps share with their share code."))
    pages = list(_approved_content().order_by("-first_published_at")[:limit])
    meetings = list(EventPage.objects.live().public().filter(ends_at__gt=timezone.now()).order_by("starts_at")[:limit])
    return meetings + pages


def access_share_target(*, user, page_id) -> object:
    """A page `user` (a rep) may share: a live content page or a live meeting that has not ended. NotFound
    otherwise (drafts, unapproved or expired content, other page types)."""
    if not can(user, Capability.COVER_TERRITORY):
        raise PermissionDenied("not_a_rep", _("Only reps share with their share code."))
    try:
        page_id = int(page_id)
    except (TypeError, ValueError):
        raise NotFound("page_not_found", _("Nothing to share here.")) from None
    page = _approved_content().filter(pk=page_id).first()
    if page is None:
        page = EventPage.objects.live().public().filter(pk=page_id, ends_at__gt=timezone.now()).first()
    if page is None:
        raise NotFound("page_not_found", _("Nothing to share here."))
    return page


def can_use_rep_actions(user) -> bool:
    """Reps invite the doctors of their territory, share, and follow their invitations."""
    return can(user, Capability.COVER_TERRITORY)


def rep_doctor_actions(*, user) -> list:
    """The rep's doctor list gets: invite to a meeting (per doctor), share, and the invitations' progress
    (REP_DOCTOR_ACTIONS_HOOK)."""
    if not can(user, Capability.COVER_TERRITORY):
        return []
    return [RepAction(key="invite", label=_("Invite to a meeting"), url_name="events:rep_invite", order=10),
            RepAction(key="share", label=_("Share content or a meeting"), url_name="events:rep_share_list",
                      per_doctor=False, order=20),
            RepAction(key="invited", label=_("My invited doctors"), url_name="events:rep_invited", per_doctor=False,
                      order=30)]
