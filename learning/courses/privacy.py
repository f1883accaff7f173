"""Courses in the personal data export: lesson progress (deleted on closing) and course completions (kept: the
training record behind a rep's qualification)."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.courses.models import CourseCompletion, LessonProgress


@personal_data(section="lesson_progress", model="learning.LessonProgress", user_fields=("user",), order=70,
               closing=Closing.DELETE)
def lesson_progress_export(user) -> list[dict]:
    return [
        {"lesson": p.lesson.title, "course": p.course.title, "started": iso(p.started_at),
         "last_seen": iso(p.last_seen_at), "seconds_spent": p.seconds_spent, "completed": iso(p.completed_at)}
        for p in LessonProgress.objects.filter(user=user).select_related("lesson", "course").order_by("started_at")
    ]


@personal_data(section="course_completions", model="learning.CourseCompletion", user_fields=("user",), order=71,
               closing=Closing.RETAIN,
               reason="the training record: which courses a rep completed and when, evidence of qualification")
def course_completions_export(user) -> list[dict]:
    return [
        {"course": c.course.title, "completed": iso(c.completed_at),
         "score_percent": str(c.score_percent) if c.score_percent is not None else None}
        for c in CourseCompletion.objects.filter(user=user).select_related("course").order_by("completed_at")
    ]
