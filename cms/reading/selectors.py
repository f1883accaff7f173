"""Reads of reading records, favourites and share attribution, continue reading, most read, and the staff report of
forwarded reads."""

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from cms.pages.models import (
    ContentPage,
)
from cms.pages.selectors import content_visible_to
from cms.reading.models import Favourite, ReadingRecord, ShareCode
from engage.core.errors import PermissionDenied
from engage.core.roles import Capability, can
from engage.core.sections import PageSection
from members.points.models import PointsTransaction
from members.points.selectors import is_points_member


def content_most_read(*, since: datetime, limit: int = 10) -> list[ContentPage]:
    """The pages most read since `since`, by readers (one reading record per doctor and page), with the
    completed reads and the reads that came from a colleague's shared link on each page."""
    recent = Q(reading_records__started_at__gte=since)
    return list(
        ContentPage.objects.annotate(
            readers=Count("reading_records", filter=recent),
            completed=Count("reading_records", filter=recent & Q(reading_records__completed_at__isnull=False)),
            forwarded=Count("reading_records", filter=recent & Q(reading_records__referrer__isnull=False)),
        ).filter(readers__gt=0).order_by("-readers", "-completed", "-pk")[:limit]
    ) if ReadingRecord.objects.filter(started_at__gte=since).exists() else []


def reading_history(*, user, limit: int = 50):
    """The user's reading records, most recent first, of pages they may still read."""
    if not user.is_authenticated:
        return ReadingRecord.objects.none()
    visible = content_visible_to(user).values("pk")
    return (ReadingRecord.objects.filter(doctor=user, page__in=visible).select_related("page")
            .order_by("-last_seen_at", "-pk")[:limit])


def continue_reading(*, user, limit: int = 5):
    """Unfinished reads, most recent first."""
    if not user.is_authenticated:
        return ReadingRecord.objects.none()
    visible = content_visible_to(user).values("pk")
    return (ReadingRecord.objects.filter(doctor=user, completed_at__isnull=True, page__in=visible)
            .select_related("page").order_by("-last_seen_at", "-pk")[:limit])


def favourites_of(*, user, limit: int = 100):
    if not user.is_authenticated:
        return Favourite.objects.none()
    visible = content_visible_to(user).values("pk")
    return Favourite.objects.filter(user=user, page__in=visible).select_related("page").order_by("-created_at")[:limit]


def is_favourite(*, user, page) -> bool:
    return bool(user.is_authenticated) and Favourite.objects.filter(user=user, page=page).exists()


def favourite_expression(*, user_id, page_id):
    """`is_favourite` as an annotation (a reading record carries it: the page's reading bar shows both)."""
    return Exists(Favourite.objects.filter(user_id=user_id, page_id=page_id))


def forwards_report(*, user) -> dict:
    """The staff report of reads that came through forwarded links, by page and by sharer."""
    if not can(user, Capability.VIEW_CONTENT_REPORTS):
        raise PermissionDenied("forbidden", _("You may not do this."))
    return {"pages": forwarded_reads_by_page(), "sharers": forwarded_reads_by_sharer()}


def forwarded_reads_by_page(limit: int = 100):
    """Content pages with reads that came through a forwarded link: reads and completed reads, most first."""
    return (ContentPage.objects.filter(reading_records__referrer__isnull=False)
            .annotate(forwarded_reads=Count("reading_records", filter=Q(reading_records__referrer__isnull=False)),
                      forwarded_completed=Count("reading_records", filter=Q(reading_records__referrer__isnull=False,
                                                                             reading_records__completed_at__isnull=False)))
            .order_by("-forwarded_reads", "pk")[:limit])


def forwarded_reads_by_sharer(limit: int = 100):
    """Sharers with the reads their forwarded links brought: [{referrer_id, name, reads, completed}]."""
    rows = (ReadingRecord.objects.filter(referrer__isnull=False)
            .values("referrer_id", "referrer__username")
            .annotate(reads=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
            .order_by("-reads", "referrer_id")[:limit])
    return list(rows)


def reading_member_section(*, user) -> PageSection:
    """The member page's "continue reading" block (MEMBER_SECTIONS_HOOK)."""
    return PageSection(key="reading", template="cms/reading/includes/member_section.html", order=10)


def read_points_earned(*, doctor, page_id: int) -> int:
    """The points the doctor's completed read of the page paid (0 when the rule paid nothing). Only the doctor's own
    ledger is read, so the reading bar shows it to that doctor alone."""
    if not is_points_member(doctor):
        return 0
    row = PointsTransaction.objects.filter(idempotency_key=f"read:{doctor.pk}:{page_id}",
                                           account__user=doctor).values_list("amount", flat=True).first()
    return int(row or 0)


SHARE_CODE_ATTR = "_engage_share_code_text"


def share_code_expression(now=None):
    """The user's share code (None before their first share) on the user row (engage.core.preload)."""
    return Subquery(ShareCode.objects.filter(user_id=OuterRef("pk")).order_by("pk").values("code")[:1])


def remember_share_code(user, code: str | None) -> None:
    if code:
        setattr(user, SHARE_CODE_ATTR, code)


def share_code_owner(*, code: str, reader):
    """The person whose share code `code` is, to credit for what `reader` does through their link; None for an
    empty or unknown code and for the reader's own code (nobody refers themselves)."""
    code = (code or "").strip()[:16]
    if not code:
        return None
    share = ShareCode.objects.select_related("user").filter(code=code).first()
    if share is None or share.user_id == getattr(reader, "pk", None):
        return None
    return share.user
