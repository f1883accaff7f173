"""On-site photos a person uploaded: listed in the personal data export; kept on closing as meeting evidence."""

from engage.core.personal_data import Closing, iso, personal_data
from events.photos.models import Photo


@personal_data(section="photos_uploaded", model="events.Photo", user_fields=("uploaded_by",), order=64,
               closing=Closing.PSEUDONYMISE, scrub=("caption", "original_name"),
               reason="on-site photos are the evidence that a sponsored meeting took place")
def photos_export(user) -> list[dict]:
    return [
        {"meeting": p.event.title, "file_name": p.original_name, "caption": p.caption, "size": p.size,
         "uploaded_at": iso(p.uploaded_at), "taken_at": iso(p.exif_taken_at), "latitude": p.exif_latitude,
         "longitude": p.exif_longitude, "camera": p.exif_camera}
        for p in Photo.objects.filter(uploaded_by=user).select_related("event").order_by("uploaded_at", "id")
    ]
