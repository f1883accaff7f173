from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cms.pages.models import Product
from engage.audit.models import AuditEntry
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import forget_roles
from learning.courses.models import CourseCompletion, LessonPage, LessonProgress
from learning.courses.selectors import continue_learning, course_outline
from learning.courses.services import (
    course_check_completion,
    courses_withdraw_expired,
    lesson_complete,
    lesson_heartbeat,
    lesson_open,
)
from learning.exams.services import attempt_start, attempt_submit
from members.points.models import PointsTransaction
from tests.factories import make_doctor, user_with_role
from tests.learning.exam_builders import answer_all, make_bank, make_course, make_exam

pytestmark = pytest.mark.django_db


def _lessons(course):
    return list(LessonPage.objects.child_of(course).order_by("path"))


def test_progress_started_time_and_resume():
    course = make_course(lessons=2)
    rep = user_with_role("rep")
    first, second = _lessons(course)
    progress = lesson_open(user=rep, lesson=first)
    assert progress.started_at and progress.completed_at is None
    lesson_heartbeat(user=rep, lesson=first, seconds=30, position="95")
    progress = lesson_heartbeat(user=rep, lesson=first, seconds=10_000)  # one report counts at most 120 s
    assert progress.seconds_spent == 150 and progress.position == "95"
    outline = course_outline(user=rep, course=course)
    assert outline.resume == first and outline.percent == 0
    lesson_complete(user=rep, lesson=first)
    assert course_outline(user=rep, course=course).resume == second
    assert continue_learning(user=rep)[0]["resume"] == second


@pytest.mark.parametrize("seconds", [-1, "10", None])
def test_malformed_heartbeats_are_refused(seconds):
    course = make_course(lessons=1)
    rep = user_with_role("rep")
    with pytest.raises(DomainError) as error:
        lesson_heartbeat(user=rep, lesson=_lessons(course)[0], seconds=seconds)
    assert error.value.code == "invalid_seconds"
    assert not LessonProgress.objects.filter(seconds_spent__gt=0).exists()


def test_a_rep_course_is_not_for_doctors_and_a_doctor_course_not_for_reps():
    rep_course, doctor_course = make_course(lessons=1), make_course(lessons=1, audience="doctors")
    with pytest.raises(PermissionDenied):
        lesson_open(user=make_doctor(), lesson=_lessons(rep_course)[0])
    with pytest.raises(PermissionDenied):
        lesson_open(user=user_with_role("rep"), lesson=_lessons(doctor_course)[0])


def test_completion_needs_all_lessons_and_the_passed_final_exam():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 4)], pass_mark_percent=75)
    course = make_course(exam=exam, lessons=2)
    rep = user_with_role("rep")
    first, second = _lessons(course)
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(attempt, right=True)
    attempt_submit(user=rep, attempt_id=attempt.pk)  # passed, but the lessons are not done
    assert not CourseCompletion.objects.exists()
    lesson_complete(user=rep, lesson=first)
    assert not CourseCompletion.objects.exists()
    lesson_complete(user=rep, lesson=second)  # the last lesson after the passed exam completes the course
    completion = CourseCompletion.objects.get()
    assert completion.attempt == attempt and completion.score_percent == 100
    assert course_check_completion(user=rep, course=course) is None  # recorded once
    assert AuditEntry.objects.filter(action="learning.course_complete").count() == 1
    assert not PointsTransaction.objects.exists()  # a rep course pays no points


def test_a_failed_exam_does_not_complete_then_a_passed_one_does():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 4)], pass_mark_percent=75)
    course = make_course(exam=exam, lessons=1)
    rep = user_with_role("rep")
    lesson_complete(user=rep, lesson=_lessons(course)[0])
    failed = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(failed, right=False)
    attempt_submit(user=rep, attempt_id=failed.pk)
    assert not CourseCompletion.objects.exists()
    passed = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(passed, right=True)
    attempt_submit(user=rep, attempt_id=passed.pk)
    assert CourseCompletion.objects.get().attempt == passed


def test_a_doctor_course_pays_points_once_and_a_rep_taking_it_gets_none():
    course = make_course(lessons=1, audience="doctors", completion_rule="lessons")
    doctor = make_doctor()
    lesson_complete(user=doctor, lesson=_lessons(course)[0])
    lesson_complete(user=doctor, lesson=_lessons(course)[0])
    earned = PointsTransaction.objects.filter(account__user=doctor)
    assert earned.count() == 1 and earned.get().rule.code == "course_complete" and earned.get().amount == 30
    rep_doctor = make_doctor()
    rep_doctor.groups.add(Group.objects.get(name="rep"))
    forget_roles(rep_doctor)
    lesson_complete(user=rep_doctor, lesson=_lessons(course)[0])  # a rep who is also a doctor: never paid
    assert CourseCompletion.objects.filter(user=rep_doctor).exists()
    assert not PointsTransaction.objects.filter(account__user=rep_doctor).exists()


def test_prerequisites_come_first():
    first = make_course(lessons=1, completion_rule="lessons")
    second = make_course(lessons=1, completion_rule="lessons")
    second.prerequisites.add(first)
    second.save_revision().publish()
    rep = user_with_role("rep")
    with pytest.raises(DomainError) as error:
        lesson_open(user=rep, lesson=_lessons(second)[0])
    assert error.value.code == "prerequisites_missing"
    lesson_complete(user=rep, lesson=_lessons(first)[0])
    assert lesson_open(user=rep, lesson=_lessons(second)[0])


def test_a_product_course_goes_live_only_through_review_and_expires_like_content():
    product = Product.objects.create(name="格华止", generic_name="二甲双胍")
    course = make_course(lessons=1, product=product, publish=False)
    with pytest.raises(DomainError) as error:
        course.save_revision().publish()
    assert error.value.code == "revision_not_approved"
    course = make_course(lessons=1, product=product)
    assert course.live and course.approval_code.startswith("CN-") and course.expires_at is not None
    internal = make_course(lessons=1)
    assert internal.live and internal.approval_code == "" and internal.expires_at is None
    assert courses_withdraw_expired(now=timezone.now()) == 0
    assert courses_withdraw_expired(now=course.expires_at + timedelta(seconds=1)) == 1
    course.refresh_from_db()
    assert not course.live
    assert AuditEntry.objects.filter(action="learning.course_expired_unpublished").exists()
