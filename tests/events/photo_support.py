"""Images built with Pillow for the photo tests, and a private storage in a temporary directory."""

import io
import random
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from engage.core.storage import PrivateFileSystemStorage
from events.models import Photo


@pytest.fixture(name="photo_storage")
def photo_storage_fixture(tmp_path, monkeypatch):
    """Photos land in a temporary directory for the test (the field resolved its storage at import)."""
    storage = PrivateFileSystemStorage(location=tmp_path / "private")
    monkeypatch.setattr(Photo._meta.get_field("image"), "storage", storage)
    return storage


def picture(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A picture with structure (shapes on a gradient) that differs from seed to seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, rng.randint(0, 40) + shade // 2, 255 - shade))
    for _ in range(12):
        x0, y0 = rng.randint(0, width - 50), rng.randint(0, height - 50)
        box = [x0, y0, x0 + rng.randint(40, width // 2), y0 + rng.randint(40, height // 2)]
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=colour)
    return image


def jpeg_bytes(image: Image.Image, *, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small, valid-looking PNG whose header claims `width`×`height` pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)  # a truncated stream of zero rows
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
