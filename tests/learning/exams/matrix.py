"""Courses' and exams' objects for the role × surface matrix (not a test module): called by
tests/engage/core/test_role_matrix.py while it builds its world."""


def exams_world(*, users) -> dict:
    from learning.courses.models import CourseCompletion, LessonPage
    from learning.exams.services import attempt_start, exam_override_grant
    from tests.learning.exam_builders import course_index, make_bank, make_course, make_exam

    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.root, None, 2)], attempts_allowed=0)
    course = make_course(exam=exam, lessons=1)
    lesson = LessonPage.objects.child_of(course).first()
    attempt = attempt_start(user=users["rep"], exam_id=exam.pk)
    override = exam_override_grant(actor=users["admin"], exam=exam, user=users["rep"], extra_minutes=5,
                                   reason="矩阵测试")
    completion = CourseCompletion.objects.create(user=users["rep"], course=course)
    return {"exam": exam.pk, "attempt": attempt.pk, "lesson": lesson.pk, "course_url": course.url,
            "lesson_url": lesson.url, "courses_url": course_index().url, "question": bank.questions[0].pk,
            "question_category": bank.root.pk, "exam_override": override.pk,
            "course_completion": completion.pk}
