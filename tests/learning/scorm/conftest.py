import io

import pytest


@pytest.fixture(autouse=True)
def _private_files_in_tmp(settings, tmp_path):
    """Packages of a test go to its own private directory."""
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "engage.core.storage.PrivateFileSystemStorage", "OPTIONS": {"location": tmp_path / "private"}}}
    yield


@pytest.fixture
def scorm_lesson(db):
    """A published internal course with one lesson running the sample SCORM package; returns the package."""
    from learning.scorm.exporters import scorm_sample_package
    from learning.scorm.services import scorm_package_upload
    from tests.factories import user_with_role
    from tests.learning.exam_builders import make_course

    course = make_course(lessons=1)
    lesson = course.get_children().specific().first()
    return scorm_package_upload(actor=user_with_role("marketing"), upload=io.BytesIO(scorm_sample_package()),
                                lesson_id=lesson.pk)
