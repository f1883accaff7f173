"""Reading and credit: open a reading record, apply a beacon, complete a read once, favourites, share codes.

A read is complete when the doctor has read `share` of the body for at least `seconds` of active time
(settings.READING_COMPLETION per page type). A complete read pays the `read_article` points rule once per page
per doctor and writes one content_read engagement event, however many completion beacons arrive concurrently:
beacons lock the record row, and the points ledger and the engagement log have their own idempotency keys.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cms.pages.models import ContentPage
from cms.pages.selectors import can_read_content, content_gate
from cms.reading.models import Favourite, ReadingRecord, ShareCode
from cms.reading.selectors import SHARE_CODE_ATTR, favourite_expression, share_code_owner
from engage.core.errors import NotFound, PermissionDenied
from engage.core.prepared import Prepared
from engage.core.qualification import qualification_require
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.points.selectors import is_points_member
from members.points.services import points_award

DEFAULT_COMPLETION = {"share": 0.8, "seconds": 60}
MAX_BEACON_SECONDS = 3600
REOPEN_WRITE_INTERVAL = timedelta(minutes=1)
READ_RULE = "read_article"
MAX_REMEMBERED_REFS = 20


def forwarded_ref(request, page) -> str:
    """The attribution code a visitor arrived with for `page`: from ?ref= (remembered in the session, so a
    forwarded link still counts after the visitor signs in or joins) or remembered from an earlier visit."""
    session = getattr(request, "session", None)
    ref = (request.GET.get("ref") or "")[:16]
    if session is None:
        return ref
    refs = dict(session.get("reading_refs") or {})
    key = str(page.pk)
    if ref and key not in refs:  # first touch
        refs[key] = ref
        session["reading_refs"] = dict(list(refs.items())[-MAX_REMEMBERED_REFS:])
    return refs.get(key, ref)


def completion_rule(page: ContentPage) -> dict:
    """{"share": 0..1, "seconds": int} for the page's type, from settings.READING_COMPLETION."""
    rules = getattr(settings, "READING_COMPLETION", {}) or {}
    rule = {**DEFAULT_COMPLETION, **rules.get("default", {}), **rules.get(page.kind, {})}
    return {"share": float(rule["share"]), "seconds": int(rule["seconds"])}


def may_keep_reading_records(user) -> bool:
    """Reading records are kept for doctors (who earn credit for reading), not for reps or staff."""
    return is_points_member(user)


def _referrer_for(code: str, reader) -> object | None:
    return share_code_owner(code=code, reader=reader)


# A doctor's record of a page with whether the page is among their favourites (the reading bar shows both): read
# on every view of a content page, so compiled once (engage.core.prepared).
_record_of = Prepared(ReadingRecord, lambda doctor, page: ReadingRecord.objects.filter(
    doctor_id=doctor, page_id=page).annotate(is_favourite=favourite_expression(
        user_id=OuterRef("doctor_id"), page_id=OuterRef("page_id"))).order_by("pk")[:1], doctor=int, page=int)


def reading_open(*, doctor, page: ContentPage, ref: str = "") -> ReadingRecord | None:
    """The doctor's reading record of `page`, created on the first visit (with the referrer of a forwarded
    link: first touch) and reused later; its last_seen_at moves on when it is older than REOPEN_WRITE_INTERVAL.
    Call only after content_gate allowed the read. None for non-doctors."""
    if not may_keep_reading_records(doctor):
        return None
    now = timezone.now()
    revision_id = page.live_revision_id
    record = _record_of.first(doctor=doctor.pk, page=page.pk)
    if record is not None:
        # A page view is a read, not a write, when the record was seen within the interval: the history's order
        # may lag that much behind, and the database takes no write per view of a page read again and again.
        if now - record.last_seen_at >= REOPEN_WRITE_INTERVAL:
            ReadingRecord.objects.filter(pk=record.pk).update(last_seen_at=now)
            record.last_seen_at = now
        return record
    try:
        with transaction.atomic():
            return ReadingRecord.objects.create(doctor=doctor, page=page, revision_id=revision_id, started_at=now,
                                                last_seen_at=now, referrer=_referrer_for(ref, doctor))
    except IntegrityError:  # a concurrent first visit created it
        return ReadingRecord.objects.get(doctor=doctor, page=page)


@dataclass
class BeaconResult:
    record: ReadingRecord
    credited_seconds: int
    completed_now: bool
    points: int


def reading_beacon(*, doctor, page_id: int, record_id: int, seconds: int, share: float) -> BeaconResult:
    """Applies one report of active reading time and scroll depth to the doctor's record of the page.

    The time credited is capped by the wall-clock time since the previous report (or the opening), so a client
    cannot claim more time than has passed. The share only grows. Refused: unknown pages, pages the doctor may
    not read, a record that is not this doctor's record of this page.
    """
    page = ContentPage.objects.filter(pk=page_id).first()
    if page is None:
        raise NotFound("unknown_page", _("This content does not exist."))
    if not may_keep_reading_records(doctor):
        raise PermissionDenied("not_a_doctor", _("Reading credit is for doctors."))
    decision = content_gate(user=doctor, page=page)
    if not decision.allowed:
        raise PermissionDenied("not_allowed", _("You may not read this content."), reason=decision.reason)
    rule = completion_rule(page)
    with transaction.atomic():
        record = ReadingRecord.objects.select_for_update().filter(pk=record_id, doctor=doctor, page=page).first()
        if record is None:
            raise NotFound("unknown_record", _("This reading record does not exist."))
        now = timezone.now()
        since = record.last_beacon_at or record.started_at
        elapsed = max(0, int((now - since).total_seconds()))
        credited = max(0, min(int(seconds), elapsed, MAX_BEACON_SECONDS))
        record.active_seconds += credited
        record.max_share = max(record.max_share, min(1.0, max(0.0, float(share))))
        record.last_beacon_at = now
        record.last_seen_at = now
        completed_now = (record.completed_at is None and record.max_share >= rule["share"]
                         and record.active_seconds >= rule["seconds"])
        if completed_now:
            record.completed_at = now
        record.save(update_fields=["active_seconds", "max_share", "last_beacon_at", "last_seen_at", "completed_at"])
        points = 0
        if completed_now:
            points = _credit_read(doctor=doctor, page=page, record=record)
    return BeaconResult(record, credited, completed_now, points)


def _credit_read(*, doctor, page: ContentPage, record: ReadingRecord) -> int:
    award = points_award(member=doctor, rule_code=READ_RULE, source=page,
                         idempotency_key=f"read:{doctor.pk}:{page.pk}")
    engagement_record(doctor=doctor, kind=EngagementKind.CONTENT_READ, source_key=f"content_read:{page.pk}:{doctor.pk}",
                      obj=page, therapy_area=page.therapy_areas.order_by("pk").first(),
                      occurred_at=record.completed_at,
                      metadata={"seconds": record.active_seconds, "share": round(record.max_share, 2),
                                "referrer": record.referrer_id})
    return award.points


@transaction.atomic
def favourite_toggle(*, user, page_id: int) -> bool:
    """Adds or removes a favourite of a page the user may read; returns whether it is now a favourite."""
    page = ContentPage.objects.filter(pk=page_id).first()
    if page is None:
        raise NotFound("unknown_page", _("This content does not exist."))
    if not user.is_authenticated:
        raise PermissionDenied("sign_in", _("Sign in to keep favourites."))
    deleted, _rows = Favourite.objects.filter(user=user, page=page).delete()
    if deleted:
        return False
    if not can_read_content(user, page):
        raise PermissionDenied("not_allowed", _("You may not read this content."))
    Favourite.objects.get_or_create(user=user, page=page)
    return True


def share_code_for(*, user) -> ShareCode:
    """The user's attribution code, created on first use. Remembered on the user object for the request (a
    content page shows it twice: the reading bar and the share card); the code never changes once made."""
    existing = getattr(user, "_engage_share_code", None) or ShareCode.objects.filter(user=user).first()
    if existing:
        user._engage_share_code = existing
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ShareCode.objects.create(user=user, code=secrets.token_urlsafe(6)[:8])
        except IntegrityError:
            existing = ShareCode.objects.filter(user=user).first()
            if existing:
                return existing
    raise IntegrityError("could not allocate a share code")


def share_code_text(*, user) -> str:
    """The user's share code as it goes into links (remembered when the session loaded them; else `share_code_for`,
    which makes it on first use and remembers it for the request)."""
    return getattr(user, SHARE_CODE_ATTR, None) or share_code_for(user=user).code


def content_share_code(*, user, page_id: int) -> tuple[ContentPage, ShareCode]:
    """The code that attributes reads of `page` forwarded by `user`: only for content they may read (403
    `not_allowed`) and, for a rep, only about products they are qualified to promote (403 `rep_not_qualified`,
    checked on every share so a lapsed certificate counts at once). 404 `unknown_page`."""
    page = ContentPage.objects.live().filter(pk=page_id).first()
    if page is None:
        raise NotFound("unknown_page", _("This content does not exist."))
    if not user.is_authenticated or not can_read_content(user, page):
        raise PermissionDenied("not_allowed", _("You may not read this content."))
    qualification_require(user=user, product_ids=page.products.values_list("pk", flat=True))
    return page, share_code_for(user=user)
