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


def test_product_course_owners_are_warned_at_30_and_7_days_once_each(django_capture_on_commit_callbacks,
                                                                     mailoutbox):
    import time_machine

    from engage.inbox.models import Notification
    from learning.courses.models import CourseExpiryNotice, CoursePage
    from learning.courses.tasks import courses_expiry_task
    from tests.learning.quals import make_product

    author = user_with_role("marketing", email="author@pharma.example.cn")
    course = make_course(lessons=1, product=make_product(name="糖稳宁"))
    internal = make_course(lessons=1)  # no product: not reviewed, never expires, never warned
    CoursePage.objects.filter(pk__in=[course.pk, internal.pk]).update(owner=author)
    expires = CoursePage.objects.get(pk=course.pk).expires_at
    assert expires is not None and CoursePage.objects.get(pk=internal.pk).expires_at is None

    def run(days_before: float) -> dict:
        with time_machine.travel(expires - timedelta(days=days_before), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            return courses_expiry_task()

    assert run(31)["warned"] == 0
    assert run(29.5) == {"withdrawn": 0, "warned": 1}
    assert run(29)["warned"] == 0 and run(8)["warned"] == 0  # once per threshold
    assert run(6.5)["warned"] == 1
    assert run(6)["warned"] == 0 and run(1)["warned"] == 0
    assert sorted(CourseExpiryNotice.objects.filter(course=course).values_list("days_before", flat=True)) == [7, 30]
    assert not CourseExpiryNotice.objects.filter(course=internal).exists()
    assert AuditEntry.objects.filter(action="learning.course_expiry_warning", object_id=str(course.pk)).count() == 2
    notices = Notification.objects.filter(user=author, kind="content.expiring").order_by("pk")
    assert notices.count() == 2 and all(course.title in n.title for n in notices)
    assert [" 30 " in notices[0].title, " 7 " in notices[1].title] == [True, True]
    mails = [m for m in mailoutbox if m.to == ["author@pharma.example.cn"]]
    assert len(mails) == 2 and f"/admin/pages/{course.pk}/edit/" in mails[0].body
    assert run(-0.1) == {"withdrawn": 1, "warned": 0}  # past the expiry the course is unpublished, not warned
