"""Writes of courses: a learner's progress through lessons, course completion (with the certificate and, for a
doctor course, academic points), and withdrawing product courses whose approval has expired."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cms.review.services import expiring_pages_warn
from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from learning.courses.models import (
    CompletionRule,
    CourseAudience,
    CourseCompletion,
    CourseExpiryNotice,
    CoursePage,
    LessonPage,
    LessonProgress,
)
from learning.courses.selectors import can_take_course, course_lessons, missing_prerequisites
from members.points.services import points_award

MAX_HEARTBEAT_SECONDS = 120  # one heartbeat counts at most this much visible time (a phone left open counts nothing)
COURSE_POINTS_RULE = "course_complete"


def _learner_course(*, user, lesson: LessonPage) -> CoursePage:
    course = lesson._course()
    if course is None or not can_take_course(user, course):
        raise PermissionDenied("forbidden", _("This course is not for you."))
    if missing_prerequisites(user=user, course=course):
        raise DomainError("prerequisites_missing", _("Complete the prerequisite courses first."), status=409)
    return course


def lesson_open(*, user, lesson: LessonPage, now: datetime.datetime | None = None) -> LessonProgress:
    """Records that the learner opened the lesson (started once, last seen every time)."""
    course = _learner_course(user=user, lesson=lesson)
    now = now or timezone.now()
    progress, created = LessonProgress.objects.get_or_create(
        user=user, lesson=lesson, defaults={"course": course, "started_at": now, "last_seen_at": now})
    if not created:
        LessonProgress.objects.filter(pk=progress.pk).update(last_seen_at=now)
        progress.last_seen_at = now
    return progress


def lesson_heartbeat(*, user, lesson: LessonPage, seconds: int, position: str = "",
                     now: datetime.datetime | None = None) -> LessonProgress:
    """Adds visible time (the page sends it only while it is visible) and where to resume."""
    if not isinstance(seconds, int) or seconds < 0:
        raise DomainError("invalid_seconds", _("The time spent is not valid."), status=422)
    if len(position or "") > 200:
        raise DomainError("invalid_position", _("The position is too long."), status=422)
    from django.db.models import F

    progress = lesson_open(user=user, lesson=lesson, now=now)
    seconds = min(seconds, MAX_HEARTBEAT_SECONDS)
    update = {"seconds_spent": F("seconds_spent") + seconds}
    if position:
        update["position"] = position
    LessonProgress.objects.filter(pk=progress.pk).update(**update)
    progress.refresh_from_db()
    return progress


@transaction.atomic
def lesson_complete(*, user, lesson: LessonPage, now: datetime.datetime | None = None) -> LessonProgress:
    """Marks the lesson completed for the learner (once; repeats change nothing) and completes the course when
    its rule is met. learning.scorm calls this when a package reports passed or completed."""
    now = now or timezone.now()
    progress = lesson_open(user=user, lesson=lesson, now=now)
    progress = LessonProgress.objects.select_for_update().get(pk=progress.pk)
    if progress.completed_at is None:
        progress.completed_at = now
        progress.save(update_fields=["completed_at"])
        course_check_completion(user=user, course=progress.course)
    return progress


def _passing_attempt(*, user, course: CoursePage, attempt=None):
    from learning.exams.models import Attempt, AttemptStatus  # exams call back into courses: keep it lazy

    if attempt is not None:
        return attempt if attempt.passed and attempt.exam_id == course.final_exam_id else None
    return (Attempt.objects.filter(user=user, exam_id=course.final_exam_id, status=AttemptStatus.SUBMITTED,
                                   passed=True, course_completion__isnull=True)
            .order_by("-submitted_at").first())


@transaction.atomic
def course_check_completion(*, user, course: CoursePage, attempt=None) -> CourseCompletion | None:
    """Records a CourseCompletion when every live lesson is completed and (under the default rule) the final exam
    is passed; returns it, or None when the rule is not met yet or this completion is recorded already. A new
    completion issues the certificate (learning.certificates) and pays a doctor course's points; reps never
    earn points."""
    lessons = course_lessons(course)
    completed = set(LessonProgress.objects.filter(user=user, course=course, completed_at__isnull=False)
                    .values_list("lesson_id", flat=True))
    if any(lesson.pk not in completed for lesson in lessons):
        return None
    needs_exam = course.completion_rule == CompletionRule.LESSONS_AND_EXAM and course.final_exam_id
    passing = _passing_attempt(user=user, course=course, attempt=attempt) if needs_exam else None
    if needs_exam and passing is None:
        return None
    try:
        with transaction.atomic():
            completion = CourseCompletion.objects.create(
                user=user, course=course, attempt=passing, score_percent=passing.percent if passing else None)
    except IntegrityError:
        return None  # recorded already (the same passing attempt, or a course without exam)
    audit_log(actor=user, action="learning.course_complete", obj=completion,
              after={"course": course.pk, "attempt": getattr(passing, "pk", None),
                     "score_percent": str(completion.score_percent) if passing else None})
    if course.audience == CourseAudience.DOCTORS and not can(user, Capability.TAKE_COURSES):
        points_award(member=user, rule=course.points_rule, rule_code=None if course.points_rule_id
                     else COURSE_POINTS_RULE, source=completion, source_label=course.title)
    _certificate_on_completion(user=user, course=course)
    return completion


def _certificate_on_completion(*, user, course: CoursePage) -> None:
    # certificates import assignments, which read courses: imported here to keep the module graph acyclic
    from learning.certificates.services import certificates_on_course_completed

    certificates_on_course_completed(user=user, course=course)


def courses_on_exam_passed(*, user, attempt) -> list[CourseCompletion]:
    """A passed attempt may complete each course whose final exam it is."""
    completions = []
    for course in CoursePage.objects.live().filter(final_exam_id=attempt.exam_id):
        completion = course_check_completion(user=user, course=course, attempt=attempt)
        if completion is not None:
            completions.append(completion)
    return completions


def courses_withdraw_expired(*, now: datetime.datetime | None = None) -> int:
    """Unpublishes every live product course whose approval has expired; audited. The beat runs it daily."""
    now = now or timezone.now()
    count = 0
    for course in CoursePage.objects.live().filter(expires_at__lte=now):
        with transaction.atomic():
            course.unpublish(log_action=True)
            audit_log(actor=None, action="learning.course_expired_unpublished", obj=course,
                      after={"approval_code": course.approval_code, "expires_at": course.expires_at.isoformat()},
                      reason="approval expired")
        count += 1
    return count


def courses_warn_expiring(*, now: datetime.datetime | None = None) -> int:
    """Tells each live product course's owner once per threshold (30 and 7 days) that its approval is about to
    expire, by inbox and email, as content owners are told (cms.review). The beat runs it daily."""
    return expiring_pages_warn(
        pages=CoursePage.objects.live(), action="learning.course_expiry_warning", now=now,
        record=lambda course, days: CourseExpiryNotice.objects.create(course=course, approval_code=course.approval_code,
                                                                      days_before=days))
