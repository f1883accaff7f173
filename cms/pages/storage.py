"""Media storage that keeps Wagtail documents private.

Images stay under MEDIA_ROOT with public URLs (covers, figures). Documents (full-text PDFs, video files) are
written under PRIVATE_ROOT, have no public URL and reach people only through Wagtail's document view, which
cms.wagtail_hooks checks against the pages that use the document.
"""

from django.conf import settings
from django.core.files.storage import FileSystemStorage

PRIVATE_PREFIXES = ("documents/",)


class MediaStorage(FileSystemStorage):
    def _is_private(self, name: str) -> bool:
        return str(name).replace("\\", "/").lstrip("/").startswith(PRIVATE_PREFIXES)

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
        if self._is_private(name):
            # Wagtail's serve view treats this as "no direct URL" and streams the file itself after the checks.
            raise NotImplementedError("Documents have no public URL; they are served through the checked view.")
        return super().url(name)
