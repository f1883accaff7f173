"""Who may upload and see a meeting's on-site photos, and the photo lists the admin and the evidence pack read.

Decision: staff roles (marketing, medical review, compliance, admin) reach the photos of every meeting; a rep
reaches only the meetings where they hold a quota (events.Quota.rep) — the meetings they are responsible for.
Doctors never see on-site photos.
"""

from django.db.models import Count, Prefetch, QuerySet

from engage.roles import Role, has_role, is_staff_member
from events.models import EventPage, Photo, PhotoFlag, Quota


def photos_access(user, event: EventPage) -> bool:
    """True when `user` may upload photos to `event` and look at them."""
    if is_staff_member(user):
        return True
    if not has_role(user, Role.REP):
        return False
    return Quota.objects.filter(event=event, rep=user).exists()


def photo_access_by_id(user, photo_id: int) -> Photo | None:
    """The photo when `user` may see it, else None (no hint whether it exists)."""
    photo = Photo.objects.select_related("event").filter(pk=photo_id).first()
    if photo is None or not photos_access(user, photo.event):
        return None
    return photo


def photos_of_event(event: EventPage) -> QuerySet[Photo]:
    """The meeting's photos with uploader and duplicate flags (each flag with the other meeting)."""
    flags = PhotoFlag.objects.select_related("similar_to__event").order_by("distance", "similar_to_id")
    return (
        Photo.objects.filter(event=event)
        .select_related("uploaded_by")
        .prefetch_related(Prefetch("flags", queryset=flags))
        .annotate(flag_count=Count("flags", distinct=True))
        .order_by("uploaded_at", "id")
    )


def events_with_photos() -> QuerySet[EventPage]:
    return (
        EventPage.objects.annotate(photo_count=Count("photos", distinct=True),
                                   flag_count=Count("photos__flags", distinct=True))
        .filter(photo_count__gt=0)
        .order_by("-starts_at")
    )
