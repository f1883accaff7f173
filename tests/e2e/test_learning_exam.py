"""A rep on a phone takes a lesson and the course's exam: opens the course, completes the lesson, starts the exam,
answers half of it, reloads (the answers are still there: each was saved as it was given), finishes, submits and
passes; the course shows as completed."""

import pytest

from learning.courses.models import CourseCompletion, LessonPage
from learning.exams.models import Attempt, AttemptStatus
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import user_with_role
from tests.learning.exam_builders import make_bank, make_course, make_exam

pytestmark = pytest.mark.e2e


def _answer(page, fieldset, item):
    """Answers the question shown in `fieldset` right, with what the page shows (the option order is shuffled)."""
    version, kind = item.version, item.question.kind
    if kind == "fill_in":
        fieldset.locator("[data-testid=attempt-fill-in]").fill(version.accepted_answers[0])
        fieldset.locator("[data-testid=attempt-fill-in]").press("Tab")
        return
    for option in version.options:
        if option.get("correct"):
            fieldset.locator(f"input[value='{option['key']}']").check()


def test_rep_takes_a_lesson_and_the_exam_on_a_phone(live_asgi_server, browser_page):
    page = browser_page
    bank = make_bank(per_difficulty=1, kinds=("single", "multiple", "true_false", "fill_in"))
    exam = make_exam(draws=[(bank.root, None, 6)], time_limit_minutes=20, pass_mark_percent=80)
    course = make_course(exam=exam, lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    rep = user_with_role("rep")
    sign_in(page, live_asgi_server, rep)

    page.goto(live_asgi_server + course.url)
    page.locator("[data-testid=course-resume]").click()
    page.wait_for_selector("[data-testid=lesson-page]")
    assert "第1课的内容" in page.locator("[data-testid=lesson-body]").inner_text()
    page.locator("[data-testid=lesson-complete]").click()
    page.wait_for_selector("[data-testid=course-page]")
    assert page.locator(f"[data-testid=course-lesson][href='{lesson.url}']").get_attribute("data-completed") == "1"

    page.locator("[data-testid=course-exam-link]").click()
    page.locator("[data-testid=exam-start]").click()
    page.wait_for_selector("[data-testid=attempt-form]")
    attempt = Attempt.objects.get(user=rep, exam=exam)
    items = {item.position: item for item in attempt.questions.select_related("version", "question")}
    fieldsets = page.locator("[data-testid=attempt-question]")
    assert fieldsets.count() == 6
    for position in (1, 2, 3):
        fieldset = page.locator(f"[data-testid=attempt-question][data-position='{position}']")
        _answer(page, fieldset, items[position])
        page.wait_for_selector(f"[data-testid=attempt-question][data-position='{position}'] "
                               "[data-status][data-state=saved]")
    page.screenshot(path=str(ARTIFACTS / "learning-exam-answering.png"))

    page.wait_for_load_state("networkidle")
    page.reload()  # a reload (or a locked phone, a lost network) loses nothing that was saved
    page.wait_for_selector("[data-testid=attempt-form]")
    for position in (1, 2, 3):
        fieldset = page.locator(f"[data-testid=attempt-question][data-position='{position}']")
        if items[position].question.kind == "fill_in":
            assert fieldset.locator("[data-testid=attempt-fill-in]").input_value() != ""
        else:
            assert fieldset.locator("input:checked").count() >= 1
    for position in (4, 5, 6):
        _answer(page, page.locator(f"[data-testid=attempt-question][data-position='{position}']"), items[position])
    page.locator("[data-testid=attempt-submit]").click()
    page.wait_for_selector("[data-testid=attempt-result]")
    assert page.locator("[data-testid=attempt-result]").get_attribute("data-passed") == "1"
    assert page.locator("[data-testid=attempt-score]").inner_text().strip() == "100%"
    page.screenshot(path=str(ARTIFACTS / "learning-exam-result.png"))
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.passed
    assert CourseCompletion.objects.filter(user=rep, course=course, attempt=attempt).exists()
    page.locator("[data-testid=result-course]").click()
    page.wait_for_selector("[data-testid=course-page] [data-testid=course-completed]")
