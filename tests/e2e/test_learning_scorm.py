"""A rep opens a SCORM lesson on a phone: scorm-again is the SCORM 1.2 API around the package's iframe. The rep goes
to page 2 (the package commits location and suspend data), reloads, resumes on page 2, finishes with "passed" and a
score after it; the lesson is complete and the data stored once per commit."""

import io

import pytest

from learning.courses.models import LessonProgress
from learning.scorm.exporters import scorm_sample_package
from learning.scorm.models import ScormRegistration
from learning.scorm.services import scorm_package_upload
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import user_with_role
from tests.learning.exam_builders import make_course

pytestmark = pytest.mark.e2e


@pytest.fixture
def _private_root(monkeypatch, settings, tmp_path):
    """The test and the live server read and write packages in the same private directory."""
    root = tmp_path / "private"
    monkeypatch.setenv("PRIVATE_ROOT", str(root))
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "engage.core.storage.PrivateFileSystemStorage", "OPTIONS": {"location": root}}}


def _registration(rep):
    return ScormRegistration.objects.filter(user=rep).first()


def test_a_rep_completes_a_scorm_lesson_and_resumes_where_they_left(_private_root, live_asgi_server, browser_page):
    page = browser_page
    course = make_course(lessons=1)
    lesson = course.get_children().specific().first()
    package = scorm_package_upload(actor=user_with_role("marketing"), upload=io.BytesIO(scorm_sample_package()),
                                   lesson_id=lesson.pk)
    rep = user_with_role("rep")
    sign_in(page, live_asgi_server, rep)

    page.goto(live_asgi_server + lesson.url)
    frame = page.frame_locator("[data-testid=scorm-frame]")
    assert frame.locator("#resumed").inner_text() == "start"
    frame.locator("#next").click()
    page.wait_for_function("() => document.querySelector('[data-scorm-player]').dataset.savedStatus")
    registration = _registration(rep)
    assert registration.lesson_location == "page-2" and registration.suspend_data == "visited=1,2"
    assert registration.lesson_status == "incomplete"

    page.reload()
    frame = page.frame_locator("[data-testid=scorm-frame]")
    assert frame.locator("#resumed").inner_text() == "resume:page-2|visited=1,2"
    assert frame.locator("#page-2").is_visible()
    frame.locator("#finish").click()
    frame.locator("#done").wait_for()
    page.wait_for_function("() => document.querySelector('[data-scorm-player]').dataset.completed === '1'")
    assert page.locator("[data-testid=scorm-status]").inner_text().strip() != ""
    registration = _registration(rep)
    assert registration.lesson_status == "passed"
    assert str(registration.score_raw) == "90.00"
    assert registration.package_id == package.pk
    assert LessonProgress.objects.get(user=rep, lesson=lesson).completed_at is not None
    assert page.locator("[data-testid=scorm-error]").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "scorm-lesson-complete.png"))
