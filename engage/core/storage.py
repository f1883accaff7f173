"""Private files (licence certificates, import uploads): on disk outside MEDIA_ROOT, never at a public URL.

They are served only through views that check who asks.
"""

from django.core.files.storage import FileSystemStorage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    def url(self, name):
        raise ValueError("Private files have no public URL; serve them through a checked view.")


def private_storage():
    return storages["private"]
