"""Media storage that keeps Wagtail documents and gated images private.

Public images stay under MEDIA_ROOT with public URLs (covers, figures). Documents (full-text PDFs, video files) are
written under PRIVATE_ROOT, have no public URL and reach people only through Wagtail's document view, which
cms.wagtail_hooks checks against the pages that use the document.

An image used by a live page whose audience is above anonymous is gated (cms.pages.services.content_index_page
renames its original to `hcp-<image id>--<name>`; its renditions carry the same prefix). A gated name is written
under PRIVATE_ROOT and its URL is the checked view (cms.pages.views.gated_image), so every `{% image %}`,
`{% srcset_image %}` and `{% picture %}` of a gated image points there without the templates knowing.
Wagtail keeps a rendition's name within 59 characters by cutting the original's name from the end, so the prefix
survives for filter specs of up to about 30 characters (ours are shorter: width-1080|format-webp).
"""

import posixpath
import re

from django.conf import settings
from django.core.files.storage import FileSystemStorage

PRIVATE_PREFIXES = ("documents/",)
IMAGE_FOLDERS = ("original_images", "images")
_GATED_IMAGE = re.compile(r"^(?:original_images|images)/hcp-(\d+)--[^/]+$")


def gated_image_id(name: str) -> int | None:
    """The image a gated original or rendition file belongs to (by its name); None for any other file."""
    match = _GATED_IMAGE.match(str(name).replace("\\", "/").lstrip("/"))
    return int(match[1]) if match else None


def gated_image_name(name: str, image_id: int | None) -> str:
    """The file name with the gated prefix for `image_id` (None: without any prefix, a public name)."""
    folder, base = posixpath.split(str(name))
    base = re.sub(r"^hcp-\d+--", "", base)
    return posixpath.join(folder, f"hcp-{image_id}--{base}" if image_id is not None else base)


class MediaStorage(FileSystemStorage):
    def _is_private(self, name: str) -> bool:
        name = str(name).replace("\\", "/").lstrip("/")
        return name.startswith(PRIVATE_PREFIXES) or gated_image_id(name) is not None

    def _private(self) -> FileSystemStorage:
        return FileSystemStorage(location=settings.PRIVATE_ROOT)

    def path(self, name):
        if self._is_private(name):
            return self._private().path(name)
        return super().path(name)

    def _save(self, name, content):
        if self._is_private(name):
            return self._private()._save(name, content)
        return super()._save(name, content)

    def url(self, name):
        if gated_image_id(name) is not None:
            from django.urls import reverse

            return reverse("gated_image", args=[str(name).replace("\\", "/").lstrip("/")])
        if self._is_private(name):
            # Wagtail's serve view treats this as "no direct URL" and streams the file itself after the checks.
            raise NotImplementedError("Documents have no public URL; they are served through the checked view.")
        return super().url(name)
