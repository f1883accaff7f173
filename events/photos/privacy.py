"""On-site photos a person uploaded: listed in the personal data export; kept on closing as meeting evidence."""

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from events.photos.models import Photo


def _pseudonymise(account: ClosingAccount) -> None:
    for photo in Photo.objects.filter(uploaded_by=account.user).only("caption", "original_name"):
        caption, name = account.scrub(photo.caption), account.scrub(photo.original_name)
        if (caption, name) != (photo.caption, photo.original_name):
            photo.caption, photo.original_name = caption, name
            photo.save(update_fields=["caption", "original_name"])


@personal_data(section="photos_uploaded", model="events.Photo", user_fields=("uploaded_by",), order=64,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise,
               reason="on-site photos are the evidence that a sponsored meeting took place")
def photos_export(user) -> list[dict]:
    return [
        {"meeting": p.event.title, "file_name": p.original_name, "caption": p.caption, "size": p.size,
         "uploaded_at": iso(p.uploaded_at), "taken_at": iso(p.exif_taken_at), "latitude": p.exif_latitude,
         "longitude": p.exif_longitude, "camera": p.exif_camera}
        for p in Photo.objects.filter(uploaded_by=user).select_related("event").order_by("uploaded_at", "id")
    ]
