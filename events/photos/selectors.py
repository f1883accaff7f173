"""Who may upload and see a meeting's on-site photos, and the photo lists the admin and the evidence pack read.

Decision: staff roles (marketing, medical review, compliance, admin) reach the photos of every meeting; a rep
reaches only the meetings where they hold a quota (events.Quota.rep) — the meetings they are responsible for.
Doctors never see on-site photos.
"""

from django.db.models import Count, Prefetch, QuerySet
from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from events.pages.models import EventPage
from events.photos.models import Photo, PhotoFlag
from events.registrations.selectors import can_work_on_site


def access_photo(*, user, photo_id) -> Photo:
    """The photo when `user` may work at its meeting (staff, the meeting's reps); NotFound otherwise, with no hint
    whether it exists."""
    photo = Photo.objects.select_related("event").filter(pk=photo_id).first()
    if photo is None or not can_work_on_site(user, photo.event):
        raise NotFound("photo_not_found", _("No such photo."))
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
