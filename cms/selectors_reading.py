"""Reads of reading records, favourites and share attribution."""

from django.db.models import Count, Q

from cms.models import ContentPage, Favourite, ReadingRecord
from cms.selectors import content_visible_to


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
