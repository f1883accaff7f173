"""On-site photos: validation, the metadata inspectors ask for, a perceptual hash and near-duplicate flags.

- A file is judged by its content, never by its name: the magic bytes (`filetype`) and Pillow must agree on a
  JPEG, PNG or WebP. Oversized files, images with too many pixels (decompression bombs) and damaged files are
  refused before anything is stored.
- Kept per photo: server time and uploader (the row), EXIF time (DateTimeOriginal with its offset, else Asia/Shanghai
  local time as cameras write it), EXIF GPS position and camera make/model when present, SHA-256 and a 64-bit DCT
  perceptual hash (pHash: 32×32 grey, 8×8 lowest frequencies against their median — pure Python, no numpy).
- Flags: a photo whose hash is within `EVENTS_PHOTO_DUPLICATE_DISTANCE` bits of a photo of ANOTHER meeting, or has
  the same SHA-256, is flagged in both directions (one PhotoFlag on each photo) so both meetings' evidence packs
  show it. Photos of the same meeting are never compared: several shots of one room look alike.
"""

import hashlib
import io
import math
import os
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from events.pages.models import EventPage
from events.photos.imaging import perceptual_hash
from events.photos.models import Photo, PhotoFlag
from events.registrations.selectors import can_work_on_site

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PIL_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_FILES_PER_UPLOAD = 20
# Any constant 63-bit number that no other advisory lock of the project uses.
_DUPLICATE_SCAN_LOCK = 0x70686F746F5F6470  # "photo_dp"
THUMBNAIL_SIZE = 360


def max_bytes() -> int:
    return int(getattr(settings, "EVENTS_PHOTO_MAX_BYTES", 15 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "EVENTS_PHOTO_MAX_PIXELS", 60_000_000))


def duplicate_distance() -> int:
    return int(getattr(settings, "EVENTS_PHOTO_DUPLICATE_DISTANCE", 10))


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str
    phash: str
    taken_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    camera: str


def _not_an_image():
    return DomainError("photo_not_image", _("This file is not a photo. Upload a JPEG, PNG or WebP image."))


def _too_many_pixels():
    return DomainError("photo_too_many_pixels", _("This image has too many pixels (at most %(mp)d megapixels).")
                       % {"mp": max_pixels() // 1_000_000})


def _read_limited(file) -> bytes:
    limit = max_bytes()
    too_large = DomainError("photo_too_large", _("This file is too large (at most %(size)s).")
                            % {"size": filesizeformat(limit)})
    if (getattr(file, "size", None) or 0) > limit:
        raise too_large
    buffer = io.BytesIO()
    chunks = file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(64 * 1024), b"")
    for chunk in chunks:
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise too_large
    if buffer.tell() == 0:
        raise DomainError("photo_empty", _("The file is empty."))
    return buffer.getvalue()


def _exif_time(raw, offset) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        local = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, str):
        try:
            return datetime.fromisoformat(f"{local.isoformat()}{offset.strip(chr(0) + ' ')}")
        except ValueError:
            pass
    return local.replace(tzinfo=SHANGHAI)  # cameras write local time; the meetings are in China


def _gps_coordinate(value, ref, limit: int) -> Decimal | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)
        number = degrees + minutes / 60 + seconds / 3600
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref or "").strip().upper() in {"S", "W"}:
        number = -number
    if not math.isfinite(number) or abs(number) > limit:
        return None
    try:
        return Decimal(str(round(number, 6)))
    except InvalidOperation:
        return None


def _exif_facts(image: Image.Image) -> tuple[datetime | None, Decimal | None, Decimal | None, str]:
    try:
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # a damaged EXIF block loses the metadata, not the photo
        return None, None, None, ""
    taken = _exif_time(details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime),
                       details.get(ExifTags.Base.OffsetTimeOriginal))
    latitude = _gps_coordinate(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), 90)
    longitude = _gps_coordinate(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    parts = [str(exif.get(tag) or "").strip("\x00 ") for tag in (ExifTags.Base.Make, ExifTags.Base.Model)]
    camera = " ".join(part for part in parts if part)[:100]
    return taken, latitude, longitude, camera


def photo_inspect(data: bytes) -> PhotoFacts:
    """Validates the bytes of an upload and reads what is kept about it; raises DomainError when refused."""
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise _not_an_image()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels():
                raise _too_many_pixels()
            if PIL_FORMATS.get(image.format) != kind.mime:
                raise _not_an_image()
            taken_at, latitude, longitude, camera = _exif_facts(image)
            if image.format in {"JPEG", "MPO"}:
                image.draft("RGB", (256, 256))  # decode at reduced scale: the hash needs 32×32
            image.load()
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise DomainError("photo_damaged", _("This image is damaged or incomplete.")) from None
    if (image.width < image.height) != (width < height) and image.width != image.height:
        width, height = height, width  # stored as displayed (EXIF orientation applied)
    return PhotoFacts(
        content_type=kind.mime, extension=ALLOWED_TYPES[kind.mime], width=width, height=height,
        sha256=hashlib.sha256(data).hexdigest(), phash=perceptual_hash(image), taken_at=taken_at,
        latitude=latitude, longitude=longitude, camera=camera,
    )


def _similar_photos(*, event_id: int, sha256: str, phash: str) -> dict[int, int]:
    """{photo id: distance} of photos of other meetings that look like this one (same SHA-256: distance 0).

    A linear scan of 16-hex-digit hashes: about a million comparisons a second, enough for the photos of years of
    meetings; a BK-tree or PostgreSQL bit_count() would be the next step."""
    limit, mine = duplicate_distance(), int(phash, 16)
    found: dict[int, int] = {}
    rows = Photo.objects.exclude(event_id=event_id).values_list("pk", "sha256", "phash")
    for pk, other_sha, other_hash in rows.iterator(chunk_size=5000):
        if other_sha == sha256:
            found[pk] = 0
            continue
        distance = (mine ^ int(other_hash or "0", 16)).bit_count()
        if distance <= limit:
            found[pk] = distance
    return found


def photo_upload(*, event: EventPage, uploaded_by, file, caption: str = "") -> Photo:
    """Stores one on-site photo of `event` with its metadata and flags near-duplicates of other meetings' photos.

    Refused (nothing stored): users without access to the meeting's photos, non-images whatever their name,
    files over the size limit, decompression bombs, damaged images. Audited.
    """
    if not can_work_on_site(uploaded_by, event):
        raise PermissionDenied("photo_forbidden", _("You cannot upload photos for this meeting."))
    caption = (caption or "").strip()
    if len(caption) > 200:
        raise DomainError("caption_too_long", _("The caption is too long (at most 200 characters)."))
    data = _read_limited(file)
    facts = photo_inspect(data)
    photo = Photo(
        event=event, uploaded_by=uploaded_by, original_name=os.path.basename(getattr(file, "name", "") or "")[:255],
        content_type=facts.content_type, size=len(data), width=facts.width, height=facts.height,
        sha256=facts.sha256, phash=facts.phash, exif_taken_at=facts.taken_at, exif_latitude=facts.latitude,
        exif_longitude=facts.longitude, exif_camera=facts.camera, caption=caption,
    )
    with transaction.atomic():
        photo.image.save(f"{uuid.uuid4().hex}.{facts.extension}", ContentFile(data), save=False)
        try:
            if connection.vendor == "postgresql":
                # Two uploads of one picture to two meetings at once must see each other: the duplicate scans
                # run one at a time, each after the previous upload committed (held until this one commits).
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DUPLICATE_SCAN_LOCK])
            photo.save()
            similar = _similar_photos(event_id=event.pk, sha256=facts.sha256, phash=facts.phash)
            flags = []
            for other_id, distance in similar.items():
                flags.append(PhotoFlag(photo=photo, similar_to_id=other_id, distance=distance))
                flags.append(PhotoFlag(photo_id=other_id, similar_to=photo, distance=distance))
            PhotoFlag.objects.bulk_create(flags, ignore_conflicts=True)
            audit_log(actor=uploaded_by, action="events.photo_upload", obj=photo, after={
                "event": event.pk, "sha256": facts.sha256, "phash": facts.phash, "size": len(data),
                "exif_taken_at": facts.taken_at.isoformat() if facts.taken_at else None,
                "similar_to": sorted(similar)})
        except BaseException:
            photo.image.storage.delete(photo.image.name)
            raise
    return photo


def photo_thumbnail(photo: Photo, *, size: int = THUMBNAIL_SIZE) -> bytes:
    """A small JPEG of the photo for admin lists (rendered on demand; the original never leaves private storage
    except through the checked view)."""
    with photo.image.open("rb") as handle, Image.open(handle) as image:
        if image.format in {"JPEG", "MPO"}:
            image.draft("RGB", (size, size))
        image = ImageOps.exif_transpose(image)
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()
