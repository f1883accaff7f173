"""Reads of courses: who may take which course, a course's outline with one learner's progress, a lesson's
neighbours, "continue learning" on the home page. The one access check per object type lives here."""

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.core.errors import NotFound, PermissionDenied
from engage.core.roles import Capability, can
from engage.core.sections import PageSection
from learning.courses.models import (
    CompletionRule,
    CourseAudience,
    CourseCompletion,
    CoursePage,
    LessonPage,
    LessonProgress,
)

AUDIENCE_CAPABILITY = {CourseAudience.REPS: Capability.TAKE_COURSES,
                       CourseAudience.DOCTORS: Capability.TAKE_DOCTOR_COURSES}


def can_take_course(user, course: CoursePage) -> bool:
    return can(user, AUDIENCE_CAPABILITY[CourseAudience(course.audience)])


def can_view_course(user, course: CoursePage) -> bool:
    """Learners of the course's audience take it; authors and reviewers read it."""
    return can_take_course(user, course) or can(user, Capability.READ_ALL_CONTENT)


def _available(course: CoursePage, now=None) -> bool:
    return course.live and not (course.expires_at and course.expires_at <= (now or timezone.now()))


def access_course(*, user, course_id: int) -> CoursePage:
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None or not _available(course):
        raise NotFound("not_found", _("Not found."))
    if not can_view_course(user, course):
        raise PermissionDenied("forbidden", _("This course is not for you."))
    return course


def access_lesson(*, user, lesson_id: int) -> LessonPage:
    lesson = LessonPage.objects.live().filter(pk=lesson_id).first()
    course = lesson._course() if lesson is not None else None
    if lesson is None or course is None or not _available(course):
        raise NotFound("not_found", _("Not found."))
    if not can_view_course(user, course):
        raise PermissionDenied("forbidden", _("This course is not for you."))
    lesson.course = course
    return lesson


@dataclass(frozen=True)
class CourseRefusal:
    code: str
    status: int

    def response(self, request, *, course):
        from django.contrib.auth.views import redirect_to_login
        from django.template.response import TemplateResponse

        if self.code == "login":
            return redirect_to_login(request.get_full_path())
        response = TemplateResponse(request, "learning/courses/course_refused.html",
                                    {"page": course, "code": self.code}, status=self.status)
        response["Cache-Control"] = "private, no-cache"
        return response


def course_gate(*, user, course: CoursePage) -> CourseRefusal | None:
    """Why `user` may not open the course (or a lesson of it) now, or None."""
    if not getattr(user, "is_authenticated", False):
        return CourseRefusal("login", 302)
    if course.expires_at and course.expires_at <= timezone.now():
        return CourseRefusal("expired", 410)
    if not can_view_course(user, course):
        return CourseRefusal("forbidden", 403)
    return None


def course_lessons(course: CoursePage) -> list[LessonPage]:
    return list(LessonPage.objects.live().child_of(course).order_by("path"))


def missing_prerequisites(*, user, course: CoursePage) -> list[CoursePage]:
    needed = list(course.prerequisites.all())
    if not needed:
        return []
    done = set(CourseCompletion.objects.filter(user=user, course__in=needed).values_list("course_id", flat=True))
    return [prerequisite for prerequisite in needed if prerequisite.pk not in done]


def latest_completion(*, user, course: CoursePage) -> CourseCompletion | None:
    return CourseCompletion.objects.filter(user=user, course=course).order_by("-completed_at").first()


@dataclass
class LessonRow:
    lesson: LessonPage
    progress: LessonProgress | None

    @property
    def completed(self) -> bool:
        return bool(self.progress and self.progress.completed_at)

    @property
    def started(self) -> bool:
        return self.progress is not None


@dataclass
class CourseOutline:
    course: CoursePage
    lessons: list[LessonRow]
    completion: CourseCompletion | None
    missing_prerequisites: list[CoursePage]
    can_take: bool
    exam_standing: object = None
    resume: LessonPage | None = None
    exam_ready: bool = False
    completed_lessons: int = field(default=0)

    @property
    def percent(self) -> int:
        return round(100 * self.completed_lessons / len(self.lessons)) if self.lessons else 0


def course_outline(*, user, course: CoursePage) -> CourseOutline:
    lessons = course_lessons(course)
    progress = {}
    if getattr(user, "is_authenticated", False):
        progress = {p.lesson_id: p for p in LessonProgress.objects.filter(user=user, course=course)}
    rows = [LessonRow(lesson, progress.get(lesson.pk)) for lesson in lessons]
    completed = sum(row.completed for row in rows)
    resume = None
    started = [row for row in rows if row.started and not row.completed]
    if started:
        resume = max(started, key=lambda row: row.progress.last_seen_at).lesson
    else:
        resume = next((row.lesson for row in rows if not row.completed), None)
    outline = CourseOutline(
        course=course, lessons=rows, completed_lessons=completed, resume=resume,
        completion=latest_completion(user=user, course=course) if getattr(user, "is_authenticated", False) else None,
        missing_prerequisites=missing_prerequisites(user=user, course=course)
        if getattr(user, "is_authenticated", False) else [],
        can_take=can_take_course(user, course),
    )
    if course.final_exam_id and course.completion_rule == CompletionRule.LESSONS_AND_EXAM and outline.can_take:
        from learning.exams.selectors import exam_standing  # exams read courses' lessons nowhere: no cycle

        outline.exam_standing = exam_standing(user=user, exam=course.final_exam)
        outline.exam_ready = completed == len(rows)
    return outline


def lesson_context(*, user, lesson: LessonPage) -> dict:
    course = lesson._course()
    lessons = course_lessons(course) if course else [lesson]
    index = next((i for i, other in enumerate(lessons) if other.pk == lesson.pk), 0)
    progress = None
    if getattr(user, "is_authenticated", False):
        progress = LessonProgress.objects.filter(user=user, lesson=lesson).first()
    try:
        scorm_package = lesson.scorm_package  # learning/scorm attaches a package to a SCORM lesson
    except (ObjectDoesNotExist, AttributeError):
        scorm_package = None
    return {"course": course, "lessons": lessons, "lesson_number": index + 1,
            "previous_lesson": lessons[index - 1] if index > 0 else None,
            "next_lesson": lessons[index + 1] if index + 1 < len(lessons) else None,
            "progress": progress, "scorm_package": scorm_package,
            "can_take": course is not None and can_take_course(user, course)}


def lesson_page_context(*, request, lesson: LessonPage) -> dict:
    context = lesson_context(user=request.user, lesson=lesson)
    context["lesson_refusal"] = getattr(request, "lesson_refusal", "")
    context["hls_video"] = lesson_streams_hls(lesson)
    return context


def lesson_streams_hls(lesson: LessonPage) -> bool:
    """Whether a video of the lesson is an HLS stream (the page then loads the vendored hls.js)."""
    return any(block.block_type == "video" and block.value.get("stream_url") for block in lesson.body)


def course_listing(*, user) -> list[CourseOutline]:
    if not getattr(user, "is_authenticated", False):
        return []
    now = timezone.now()
    courses = [course for course in CoursePage.objects.live().order_by("path")
               if _available(course, now) and can_view_course(user, course)]
    return [course_outline(user=user, course=course) for course in courses]


def continue_learning(*, user, limit: int = 3) -> list[dict]:
    """The courses a learner is in the middle of, most recently seen first, with the lesson to resume."""
    rows = (LessonProgress.objects.filter(user=user).select_related("course")
            .order_by("-last_seen_at")[:50])
    seen, found = set(), []
    done = set(CourseCompletion.objects.filter(user=user).values_list("course_id", flat=True))
    for row in rows:
        course = row.course
        if course.pk in seen or course.pk in done or not _available(course):
            continue
        seen.add(course.pk)
        outline = course_outline(user=user, course=course)
        found.append({"course": course, "resume": outline.resume, "percent": outline.percent,
                      "exam_ready": outline.exam_ready})
        if len(found) >= limit:
            break
    return found


def learning_home_section(*, user) -> PageSection | None:
    """ "Continue learning" on the home page for learners in the middle of a course."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not (can(user, Capability.TAKE_COURSES) or can(user, Capability.TAKE_DOCTOR_COURSES)):
        return None
    items = continue_learning(user=user)
    if not items:
        return None
    return PageSection(key="learning", template="learning/courses/home_section.html", items=items, order=20)


