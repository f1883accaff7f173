"""Exams in the personal data export: attempts with their answers and overrides granted to the person. Attempts
are kept on closing (the training record); overrides are deleted."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.exams.models import Attempt, ExamOverride


@personal_data(section="exam_attempts", model="learning.Attempt", user_fields=("user",), order=72,
               closing=Closing.RETAIN,
               reason="exam results are the training record behind a rep's qualification and certificates")
def exam_attempts_export(user) -> list[dict]:
    attempts = (Attempt.objects.filter(user=user).select_related("exam").prefetch_related("questions__version")
                .order_by("started_at"))
    return [
        {"exam": a.exam.title, "number": a.number, "status": a.status, "started": iso(a.started_at),
         "submitted": iso(a.submitted_at), "percent": str(a.percent) if a.percent is not None else None,
         "passed": a.passed,
         "answers": [{"question": q.version.text, "answer": q.answer, "correct": q.is_correct}
                     for q in a.questions.all()]}
        for a in attempts
    ]


@personal_data(section="exam_overrides", model="learning.ExamOverride", user_fields=("user",), order=73,
               closing=Closing.DELETE)
def exam_overrides_export(user) -> list[dict]:
    return [
        {"exam": o.exam.title, "extra_minutes": o.extra_minutes, "extra_attempts": o.extra_attempts,
         "reason": o.reason, "granted": iso(o.granted_at)}
        for o in ExamOverride.objects.filter(user=user).select_related("exam")
    ]
