import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded images and documents of a test go to its own directories."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PRIVATE_ROOT = tmp_path / "private"
    yield
