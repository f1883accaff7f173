"""On-site photos: content-sniffed validation, size and pixel limits, EXIF metadata, access, duplicate flags."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import ExifTags, Image

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from events.photos.models import Photo, PhotoFlag
from events.photos.services import photo_upload
from tests.events.factories import (  # noqa: F401
    jpeg_bytes,
    make_doctor,
    make_event,
    make_quota,
    make_rep,
    make_staff,
    photo_storage_fixture,
    picture,
    png_bomb,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photo_storage")]


def stored_files(storage) -> list[str]:
    root = storage.path("")
    import os

    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files] if os.path.isdir(root) else []


def refused(code: str, **kwargs):
    with pytest.raises(DomainError) as caught:
        photo_upload(**kwargs)
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def test_text_file_named_jpg_is_refused_and_nothing_is_stored(photo_storage):
    event, staff = make_event(), make_staff()
    error = refused("photo_not_image", event=event, uploaded_by=staff,
                    file=upload(b"GIF? no: just some text pretending " * 50, name="meeting.jpg"))
    with translation.override("en"):
        assert "not a photo" in str(error.message)
    assert Photo.objects.count() == 0 and stored_files(photo_storage) == []


def test_pdf_and_svg_named_as_images_are_refused():
    event, staff = make_event(), make_staff()
    refused("photo_not_image", event=event, uploaded_by=staff, file=upload(b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", "a.png"))
    refused("photo_not_image", event=event, uploaded_by=staff,
            file=upload(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "a.jpeg"))


def test_empty_and_truncated_images_are_refused(photo_storage):
    event, staff = make_event(), make_staff()
    refused("photo_empty", event=event, uploaded_by=staff, file=upload(b""))
    whole = jpeg_bytes(picture(7))
    refused("photo_damaged", event=event, uploaded_by=staff, file=upload(whole[: len(whole) // 3]))
    assert Photo.objects.count() == 0 and stored_files(photo_storage) == []


def test_oversized_file_is_refused(settings, photo_storage):
    settings.EVENTS_PHOTO_MAX_BYTES = 20_000
    event, staff = make_event(), make_staff()
    data = jpeg_bytes(picture(3, (1200, 900)), quality=95)
    assert len(data) > 20_000
    with translation.override("en"):
        error = refused("photo_too_large", event=event, uploaded_by=staff, file=upload(data))
        assert "too large" in str(error.message) and "19.5\xa0KB" in str(error.message)
    assert Photo.objects.count() == 0 and stored_files(photo_storage) == []


def test_decompression_bomb_is_refused(photo_storage):
    event, staff = make_event(), make_staff()
    bomb = png_bomb(100_000, 100_000)  # 10 gigapixels claimed by a file of a few hundred bytes
    assert len(bomb) < 1000
    refused("photo_too_many_pixels", event=event, uploaded_by=staff, file=upload(bomb, "bomb.png", "image/png"))
    assert Photo.objects.count() == 0 and stored_files(photo_storage) == []


def test_pixel_limit_is_configurable(settings):
    settings.EVENTS_PHOTO_MAX_PIXELS = 1_000_000
    event, staff = make_event(), make_staff()
    refused("photo_too_many_pixels", event=event, uploaded_by=staff, file=upload(png_bomb(2000, 2000), "x.png"))
    refused("photo_too_many_pixels", event=event, uploaded_by=staff,
            file=upload(jpeg_bytes(picture(1, (1200, 900)))))
    assert photo_upload(event=event, uploaded_by=staff, file=upload(jpeg_bytes(picture(1, (1000, 1000))))).pk


def test_valid_jpeg_keeps_exif_time_gps_camera_and_server_metadata(photo_storage):
    event, staff = make_event(), make_staff()
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "Mate 60"
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2026:11:20 14:30:05",
                               ExifTags.Base.OffsetTimeOriginal: "+08:00"}
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 24.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 29.0, 6.0),
    }
    data = jpeg_bytes(picture(5), exif=exif)
    photo = photo_upload(event=event, uploaded_by=staff, file=upload(data, "IMG_0001.JPG"), caption="签到台")
    photo.refresh_from_db()
    assert photo.exif_taken_at == datetime(2026, 11, 20, 6, 30, 5, tzinfo=UTC)
    assert (photo.exif_latitude, photo.exif_longitude) == (Decimal("31.240000"), Decimal("121.485000"))
    assert photo.exif_camera == "HUAWEI Mate 60"
    assert (photo.width, photo.height, photo.size, photo.content_type) == (800, 600, len(data), "image/jpeg")
    assert photo.uploaded_by == staff and photo.uploaded_at is not None
    assert photo.original_name == "IMG_0001.JPG" and photo.caption == "签到台"
    assert len(photo.sha256) == 64 and len(photo.phash) == 16
    # Stored under a random name in the private storage, not under the uploader's file name.
    assert "IMG_0001" not in photo.image.name and photo_storage.exists(photo.image.name)
    with photo.image.open("rb") as handle:
        assert handle.read() == data
    assert AuditEntry.objects.filter(action="events.photo_upload", object_id=str(photo.pk)).exists()


def test_exif_time_without_offset_is_shanghai_time_and_missing_exif_is_empty():
    event, staff = make_event(), make_staff()
    exif = Image.Exif()
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2026:11:20 14:30:05"}
    photo = photo_upload(event=event, uploaded_by=staff, file=upload(jpeg_bytes(picture(6), exif=exif)))
    assert photo.exif_taken_at == datetime(2026, 11, 20, 6, 30, 5, tzinfo=UTC)
    png = io.BytesIO()
    picture(8).save(png, "PNG")
    bare = photo_upload(event=event, uploaded_by=staff, file=upload(png.getvalue(), "x.png", "image/png"))
    assert (bare.exif_taken_at, bare.exif_latitude, bare.exif_camera, bare.content_type) == (
        None, None, "", "image/png")


def test_who_may_upload():
    event = make_event()
    image = jpeg_bytes(picture(9))
    for outsider in (make_doctor(), make_rep()):
        refused("photo_forbidden", event=event, uploaded_by=outsider, file=upload(image))
    rep = make_rep()
    make_quota(event, seats=5, rep=rep)
    assert photo_upload(event=event, uploaded_by=rep, file=upload(image)).uploaded_by == rep
    for role in ("marketing", "compliance", "medical_reviewer", "admin"):
        assert photo_upload(event=event, uploaded_by=make_staff(role), file=upload(image)).pk


def test_near_duplicate_of_another_meetings_photo_is_flagged_both_ways():
    first, second, staff = make_event(), make_event(), make_staff()
    original = photo_upload(event=first, uploaded_by=staff, file=upload(jpeg_bytes(picture(11))))
    reused = picture(11).resize((600, 450), Image.Resampling.BILINEAR)
    copy = photo_upload(event=second, uploaded_by=staff, file=upload(jpeg_bytes(reused, quality=55)))
    assert copy.sha256 != original.sha256
    flag = PhotoFlag.objects.get(photo=copy)
    assert flag.similar_to == original and flag.distance <= 10
    assert PhotoFlag.objects.get(photo=original).similar_to == copy


def test_exact_copy_in_another_meeting_is_flagged_with_distance_zero():
    first, second, staff = make_event(), make_event(), make_staff()
    data = jpeg_bytes(picture(12))
    original = photo_upload(event=first, uploaded_by=staff, file=upload(data))
    copy = photo_upload(event=second, uploaded_by=staff, file=upload(data))
    assert list(PhotoFlag.objects.filter(photo=copy).values_list("similar_to", "distance")) == [(original.pk, 0)]


def test_different_picture_and_same_meeting_duplicates_are_not_flagged():
    first, second, staff = make_event(), make_event(), make_staff()
    photo_upload(event=first, uploaded_by=staff, file=upload(jpeg_bytes(picture(21))))
    photo_upload(event=second, uploaded_by=staff, file=upload(jpeg_bytes(picture(22))))
    photo_upload(event=first, uploaded_by=staff, file=upload(jpeg_bytes(picture(21), quality=60)))
    photo_upload(event=first, uploaded_by=staff, file=upload(jpeg_bytes(picture(21))))
    assert PhotoFlag.objects.count() == 0


def test_upload_page_stores_good_files_and_names_refused_ones(client):
    event, rep = make_event(), make_rep()
    make_quota(event, seats=3, rep=rep)
    client.force_login(rep)
    url = reverse("events:photo_upload", args=[event.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'capture="environment"' in page.content and b'accept="image/*"' in page.content
    response = client.post(url, {"photos": [upload(jpeg_bytes(picture(31)), "good.jpg"),
                                            upload(b"not an image at all", "fake.jpg")]}, follow=True)
    text = response.content.decode()
    assert "fake.jpg" in text and Photo.objects.filter(event=event).count() == 1
    assert Photo.objects.get().original_name == "good.jpg"


def test_upload_page_hidden_from_outsiders(client):
    event = make_event()
    for user in (make_doctor(), make_rep()):
        client.force_login(user)
        assert client.get(reverse("events:photo_upload", args=[event.pk])).status_code == 404
        assert client.post(reverse("events:photo_upload", args=[event.pk]),
                           {"photos": [upload(jpeg_bytes(picture(1)))]}).status_code == 404
    assert Photo.objects.count() == 0


def test_photo_file_served_only_through_checked_view(client):
    event, staff = make_event(), make_staff()
    data = jpeg_bytes(picture(41))
    photo = photo_upload(event=event, uploaded_by=staff, file=upload(data))
    url = reverse("events:photo_file", args=[photo.pk])
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    client.force_login(make_doctor())
    assert client.get(url).status_code == 404
    client.force_login(make_staff("compliance"))
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert "no-store" in response["Cache-Control"]
    thumb = client.get(url, {"size": "thumb"})
    assert thumb["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 360
    with pytest.raises(ValueError):
        photo.image.url  # noqa: B018 — private storage has no public URL
