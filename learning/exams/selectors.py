"""Reads of exams: who may take an exam, one learner's attempts, the page of an attempt (a constant number of
queries whatever the number of questions), grades and whether answers may be reviewed."""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.core.errors import NotFound, PermissionDenied
from engage.core.roles import Capability, can
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus, Exam, ExamOverride, Grading, ReviewMode
from learning.questions.models import QuestionKind


def can_take_exams(user) -> bool:
    return can(user, Capability.TAKE_COURSES) or can(user, Capability.TAKE_DOCTOR_COURSES)


def access_exam(*, user, exam_id: int) -> Exam:
    """The exam, for a learner who may take exams; inactive exams are not found."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("not_authenticated", _("Sign in to take exams."))
    if not can_take_exams(user):
        raise PermissionDenied("forbidden", _("You may not take exams."))
    exam = Exam.objects.filter(pk=exam_id, is_active=True).first()
    if exam is None:
        raise NotFound("not_found", _("Not found."))
    return exam


def access_attempt(*, user, attempt_id: int) -> Attempt:
    """The learner's own attempt; nobody else's (staff read attempts in the admin)."""
    attempt = Attempt.objects.select_related("exam").filter(pk=attempt_id).first()
    if attempt is None or not getattr(user, "is_authenticated", False) or attempt.user_id != user.pk:
        raise NotFound("not_found", _("Not found."))
    return attempt


def review_visible(attempt: Attempt, *, now: datetime.datetime | None = None) -> bool:
    """Whether the learner may see the right answers and explanations of a submitted attempt."""
    if attempt.status != AttemptStatus.SUBMITTED:
        return False
    mode = attempt.exam.review_mode
    if mode == ReviewMode.AFTER_SUBMIT:
        return True
    if mode == ReviewMode.AFTER_CLOSE:
        return attempt.exam.closes_at is not None and (now or timezone.now()) >= attempt.exam.closes_at
    return False


@dataclass(frozen=True)
class ShownOption:
    key: str
    text: str
    chosen: bool
    correct: bool | None  # None unless the review is open


@dataclass(frozen=True)
class ShownQuestion:
    position: int
    kind: str
    text: str
    options: list[ShownOption]
    answer: object
    answer_seq: int
    is_correct: bool | None
    explanation: str
    accepted: list[str]

    @property
    def is_multiple(self) -> bool:
        return self.kind == QuestionKind.MULTIPLE

    @property
    def is_fill_in(self) -> bool:
        return self.kind == QuestionKind.FILL_IN


def attempt_questions(*, attempt: Attempt, review: bool = False) -> list[ShownQuestion]:
    """The attempt's questions in its order, options in its option order, with the saved answers; right answers
    and explanations only when `review`. One query whatever the number of questions."""
    shown = []
    items = AttemptQuestion.objects.filter(attempt=attempt).select_related("version", "question").order_by("position")
    for item in items:
        version, kind = item.version, item.question.kind
        by_key = {option["key"]: option for option in version.options}
        chosen = set(item.answer if isinstance(item.answer, list) else [item.answer])
        order = item.option_order if kind != QuestionKind.TRUE_FALSE else [o["key"] for o in version.options]
        options = [ShownOption(key=key, text=by_key[key]["text"], chosen=key in chosen,
                               correct=bool(by_key[key].get("correct")) if review else None)
                   for key in order if key in by_key]
        shown.append(ShownQuestion(
            position=item.position, kind=kind, text=version.text, options=options, answer=item.answer,
            answer_seq=item.answer_seq, is_correct=item.is_correct if review else None,
            explanation=version.explanation if review else "",
            accepted=list(version.accepted_answers) if review else []))
    return shown


def exam_grade(*, user, exam: Exam) -> Attempt | None:
    """The submitted attempt that counts: the highest or the last, as the exam says."""
    attempts = Attempt.objects.filter(user=user, exam=exam, status=AttemptStatus.SUBMITTED)
    if exam.grading == Grading.LAST:
        return attempts.order_by("-submitted_at", "-number").first()
    return attempts.order_by("-percent", "-submitted_at").first()


@dataclass(frozen=True)
class ExamStanding:
    exam: Exam
    open_attempt: Attempt | None
    attempts_used: int
    attempts_allowed: int  # 0: unlimited
    grade: Attempt | None
    next_start_at: datetime.datetime | None

    @property
    def attempts_left(self) -> int | None:
        return None if not self.attempts_allowed else max(self.attempts_allowed - self.attempts_used, 0)


def exam_standing(*, user, exam: Exam, now: datetime.datetime | None = None) -> ExamStanding:
    """What the exam's start page shows one learner."""
    now = now or timezone.now()
    attempts = list(Attempt.objects.filter(user=user, exam=exam).order_by("number"))
    override = ExamOverride.objects.filter(exam=exam, user=user).first()
    allowed = exam.attempts_allowed + (override.extra_attempts if override and exam.attempts_allowed else 0)
    submitted = [a for a in attempts if a.status == AttemptStatus.SUBMITTED]
    next_start = None
    if exam.delay_minutes and submitted:
        next_start = max(a.submitted_at for a in submitted) + datetime.timedelta(minutes=exam.delay_minutes)
        if next_start <= now:
            next_start = None
    return ExamStanding(exam=exam, open_attempt=next((a for a in attempts if a.status == AttemptStatus.OPEN), None),
                        attempts_used=len(attempts), attempts_allowed=allowed,
                        grade=exam_grade(user=user, exam=exam) if submitted else None, next_start_at=next_start)
