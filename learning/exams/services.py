"""Writes of exams: starting an attempt (with its random draw), saving answers, submitting and grading, the
automatic submission of overdue attempts, and per-learner overrides.

Time is the server's: an attempt stores its deadline (time limit plus the learner's extra time); an answer that
arrives after the deadline plus the exam's grace is refused, and an attempt still open then is submitted with what
was saved. Each answer is saved as it is given (the client's counter keeps a late older save from winning), so a
reload, a lost network or a locked phone loses nothing.
"""

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus, Exam, ExamOverride
from learning.exams.selectors import access_exam
from learning.questions.models import Question, QuestionCategory, QuestionKind, QuestionVersion
from learning.questions.selectors import category_descendants
from learning.questions.services import grade_answer

MAX_ANSWER_TEXT = 500


def _seen_counts(*, user, question_ids: set[int]) -> dict[int, int]:
    rows = (AttemptQuestion.objects.filter(attempt__user=user, question_id__in=question_ids)
            .values("question_id").annotate(times=Count("id")).values_list("question_id", "times"))
    return dict(rows)


def draw_questions(*, exam: Exam, user, rng: random.Random) -> list[tuple[int, int, int, str]]:
    """The questions of a new attempt as (question_id, version_id, category_id, kind): the fixed questions, then
    each draw's `count` questions from its category (and subcategories) at its difficulty, the learner's least-seen
    questions first and chance among equals. Raises `question_pool_too_small` when a draw cannot be filled."""
    chosen: list[tuple[int, int, int, str]] = []
    taken: set[int] = set()
    for question_id, version_id, category_id, kind in (
        exam.fixed_questions.filter(question__current_version__isnull=False)
        .values_list("question_id", "question__current_version_id", "question__category_id", "question__kind")
    ):
        chosen.append((question_id, version_id, category_id, kind))
        taken.add(question_id)
    draws = list(exam.draws.all())
    if not draws:
        return chosen
    tree: dict[int, list[int]] = {}
    if any(draw.include_subcategories for draw in draws):
        for pk, parent_id in QuestionCategory.objects.values_list("id", "parent_id"):
            tree.setdefault(parent_id, []).append(pk)
    pools = []
    for draw in draws:
        categories = category_descendants([draw.category_id], tree=tree) if draw.include_subcategories \
            else {draw.category_id}
        candidates = Question.objects.filter(category_id__in=categories, is_active=True,
                                             current_version__isnull=False)
        if draw.difficulty:
            candidates = candidates.filter(difficulty=draw.difficulty)
        pools.append((draw, list(candidates.values_list("id", "current_version_id", "category_id", "kind"))))
    seen = _seen_counts(user=user, question_ids={row[0] for _draw, pool in pools for row in pool})
    for draw, pool in pools:
        available = [row for row in pool if row[0] not in taken]
        if len(available) < draw.count:
            raise DomainError("question_pool_too_small",
                              _("The question bank does not hold enough questions for this exam; tell the "
                                "training team."), status=409)
        rng.shuffle(available)
        available.sort(key=lambda row: seen.get(row[0], 0))  # stable: chance among equally seen questions
        for row in available[:draw.count]:
            chosen.append(row)
            taken.add(row[0])
    return chosen


def _override(exam: Exam, user) -> ExamOverride | None:
    return ExamOverride.objects.filter(exam=exam, user=user).first()


def attempt_start(*, user, exam_id: int, now: datetime.datetime | None = None,
                  rng: random.Random | None = None) -> Attempt:
    """Starts an attempt, or returns the learner's open one (a reload or a second tab never starts another; the
    database keeps one open attempt per learner per exam whatever the timing). Refused when the exam is closed,
    no attempt is left, or the delay since the last attempt has not passed."""
    exam = access_exam(user=user, exam_id=exam_id)
    now = now or timezone.now()
    rng = rng or random.SystemRandom()
    open_attempt = Attempt.objects.filter(exam=exam, user=user, status=AttemptStatus.OPEN).first()
    if open_attempt is not None:
        return open_attempt
    if exam.opens_at and now < exam.opens_at:
        raise DomainError("exam_not_open", _("This exam has not opened yet."), status=409)
    if exam.closes_at and now >= exam.closes_at:
        raise DomainError("exam_closed", _("This exam is closed."), status=409)
    override = _override(exam, user)
    done = Attempt.objects.filter(exam=exam, user=user).aggregate(count=Count("id"), last=Max("submitted_at"),
                                                                  number=Max("number"))
    allowed = exam.attempts_allowed + (override.extra_attempts if override else 0)
    if exam.attempts_allowed and done["count"] >= allowed:
        raise DomainError("no_attempts_left", _("You have used all your attempts at this exam."), status=409)
    if exam.delay_minutes and done["last"] and now < done["last"] + datetime.timedelta(minutes=exam.delay_minutes):
        wait_until = timezone.localtime(done["last"] + datetime.timedelta(minutes=exam.delay_minutes))
        raise DomainError("attempt_too_soon", _("You can start the next attempt at %(time)s.")
                          % {"time": wait_until.strftime("%Y-%m-%d %H:%M")}, status=409)
    rows = draw_questions(exam=exam, user=user, rng=rng)
    if not rows:
        raise DomainError("exam_empty", _("This exam has no questions yet."), status=409)
    if exam.shuffle_questions:
        rng.shuffle(rows)
    options = dict(QuestionVersion.objects.filter(pk__in=[row[1] for row in rows]).values_list("id", "options"))
    deadline = None
    if exam.time_limit_minutes:
        extra = override.extra_minutes if override else 0
        deadline = now + datetime.timedelta(minutes=exam.time_limit_minutes + extra)
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(exam=exam, user=user, number=(done["number"] or 0) + 1,
                                             started_at=now, deadline=deadline,
                                             max_score=Decimal(len(rows)))
            items = []
            for position, (question_id, version_id, category_id, kind) in enumerate(rows, start=1):
                keys = [option["key"] for option in options[version_id]]
                if exam.shuffle_options and kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
                    rng.shuffle(keys)
                items.append(AttemptQuestion(attempt=attempt, question_id=question_id, version_id=version_id,
                                             category_id=category_id, position=position, option_order=keys))
            AttemptQuestion.objects.bulk_create(items)
    except IntegrityError:
        # Another request of the same learner started it at the same moment: that one is the attempt.
        existing = Attempt.objects.filter(exam=exam, user=user, status=AttemptStatus.OPEN).first()
        if existing is None:
            raise Conflict("attempt_conflict", _("The attempt could not be started; try again.")) from None
        return existing
    return attempt


def _clean_answer(kind: str, keys: list[str], answer):
    """The answer as stored, or DomainError `invalid_answer`. None clears an answer."""
    if answer is None:
        return None
    if kind == QuestionKind.FILL_IN:
        if not isinstance(answer, str) or len(answer) > MAX_ANSWER_TEXT:
            raise DomainError("invalid_answer", _("The answer is not valid for this question."), status=422)
        return answer
    if kind == QuestionKind.MULTIPLE:
        if not isinstance(answer, list) or not all(isinstance(key, str) and key in keys for key in answer) \
                or len(answer) > len(keys):
            raise DomainError("invalid_answer", _("The answer is not valid for this question."), status=422)
        return sorted(set(answer))
    if not isinstance(answer, str) or answer not in keys:
        raise DomainError("invalid_answer", _("The answer is not valid for this question."), status=422)
    return answer


def _closed_error(attempt: Attempt, exam: Exam, now) -> DomainError | None:
    if attempt.status != AttemptStatus.OPEN:
        return DomainError("attempt_closed", _("This attempt has been submitted; answers can no longer change."),
                           status=409)
    if attempt.deadline and now > attempt.deadline + datetime.timedelta(seconds=exam.grace_seconds):
        return DomainError("deadline_passed", _("Time is up: this answer came after the deadline and was not "
                                                "saved."), status=409)
    return None


def attempt_answer(*, user, attempt_id: int, position: int, answer, seq: int = 0,
                   now: datetime.datetime | None = None) -> AttemptQuestion:
    """Saves the learner's answer to the question at `position`, as given. Idempotent: the same save twice is one
    save; a save with an older `seq` than the stored one changes nothing (the answer stored stays)."""
    now = now or timezone.now()
    item = (AttemptQuestion.objects.select_related("attempt__exam", "question")
            .filter(attempt_id=attempt_id, attempt__user=user, position=position).first())
    if item is None:
        raise NotFound("not_found", _("Not found."))
    attempt, exam = item.attempt, item.attempt.exam
    if error := _closed_error(attempt, exam, now):
        raise error
    value = _clean_answer(item.question.kind, item.option_order if item.question.kind != QuestionKind.TRUE_FALSE
                          else ["T", "F"], answer)
    if not isinstance(seq, int) or seq < 0:
        raise DomainError("invalid_seq", _("The answer counter is not valid."), status=422)
    in_time = Q(deadline__isnull=True) | Q(deadline__gte=now - datetime.timedelta(seconds=exam.grace_seconds))
    with transaction.atomic():
        # One statement; the attempt row is locked against a concurrent submit (which locks it FOR UPDATE), so an
        # answer is either saved before the grade and counted, or refused after it.
        still_open = (Attempt.objects.select_for_update(no_key=True)
                      .filter(in_time, pk=attempt.pk, status=AttemptStatus.OPEN).values("pk"))
        saved = (AttemptQuestion.objects.filter(pk=item.pk, answer_seq__lte=seq, attempt_id__in=still_open)
                 .update(answer=value, answer_seq=seq, answered_at=now))
    if saved:
        item.answer, item.answer_seq, item.answered_at = value, seq, now
        return item
    item.refresh_from_db(fields=["answer", "answer_seq", "answered_at"])
    attempt.refresh_from_db(fields=["status"])
    if error := _closed_error(attempt, exam, now):  # submitted while this save was on its way
        raise error
    return item  # an older save arrived late: the newer answer stays


def _quantise(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def attempt_submit(*, user, attempt_id: int, now: datetime.datetime | None = None, auto: bool = False,
                   actor=None) -> Attempt:
    """Submits and grades the attempt once: a second submit (a double tap, two tabs, the beat at the same moment)
    waits on the row lock and gets the same graded attempt. A passed attempt may complete the courses whose final
    exam this is."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = (Attempt.objects.select_for_update().select_related("exam")
                   .filter(pk=attempt_id, user=user).first())
        if attempt is None:
            raise NotFound("not_found", _("Not found."))
        if attempt.status != AttemptStatus.OPEN:
            return attempt
        items = list(attempt.questions.select_related("version", "question"))
        score = Decimal(0)
        for item in items:
            version = item.version
            item.is_correct = grade_answer(kind=item.question.kind, options=version.options,
                                           accepted_answers=version.accepted_answers, answer=item.answer)
            score += item.points if item.is_correct else 0
        AttemptQuestion.objects.bulk_update(items, ["is_correct"])
        max_score = sum((item.points for item in items), Decimal(0))
        attempt.status = AttemptStatus.SUBMITTED
        attempt.submitted_at = now
        attempt.auto_submitted = auto
        attempt.score = _quantise(score)
        attempt.max_score = max_score
        attempt.percent = _quantise(score * 100 / max_score) if max_score else Decimal(0)
        attempt.passed = attempt.percent >= attempt.exam.pass_mark_percent
        attempt.save(update_fields=["status", "submitted_at", "auto_submitted", "score", "max_score", "percent",
                                    "passed"])
        audit_log(actor=actor if auto else user, action="learning.attempt_auto_submit" if auto
                  else "learning.attempt_submit", obj=attempt,
                  after={"exam": attempt.exam_id, "user": attempt.user_id, "number": attempt.number,
                         "score": str(attempt.score), "percent": str(attempt.percent), "passed": attempt.passed,
                         "answered": sum(item.answer is not None for item in items)})
        if attempt.passed:
            from learning.courses.services import courses_on_exam_passed  # courses import exams' models

            courses_on_exam_passed(user=attempt.user, attempt=attempt)
    return attempt


def attempts_submit_overdue(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Submits every open attempt whose deadline plus grace has passed, with the answers saved; the beat runs it
    every minute. Rows another worker holds are skipped (they are being submitted)."""
    now = now or timezone.now()
    count = 0
    candidates = (Attempt.objects.filter(status=AttemptStatus.OPEN, deadline__isnull=False, deadline__lt=now)
                  .select_related("exam", "user").order_by("deadline")[:limit])
    for attempt in candidates:
        if now <= attempt.deadline + datetime.timedelta(seconds=attempt.exam.grace_seconds):
            continue
        result = attempt_submit(user=attempt.user, attempt_id=attempt.pk, now=now, auto=True)
        count += result.auto_submitted and result.submitted_at == now
    return count


@transaction.atomic
def exam_override_grant(*, actor, exam: Exam, user, extra_minutes: int = 0, extra_attempts: int = 0,
                        reason: str) -> ExamOverride:
    """Gives one learner extra time and/or extra attempts at `exam` (replacing an earlier override); audited with
    the reason. An open attempt's deadline moves with the change of extra time."""
    if not can(actor, Capability.GRANT_EXAM_OVERRIDES):
        raise PermissionDenied("forbidden", _("You may not grant exam overrides."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give a reason for the override."))
    if not (0 <= extra_minutes <= 24 * 60) or not (0 <= extra_attempts <= 20):
        raise DomainError("invalid_override", _("Extra time is 0 to 1440 minutes, extra attempts 0 to 20."))
    existing = ExamOverride.objects.select_for_update().filter(exam=exam, user=user).first()
    before = ({"extra_minutes": existing.extra_minutes, "extra_attempts": existing.extra_attempts,
               "reason": existing.reason} if existing else None)
    old_minutes = existing.extra_minutes if existing else 0
    override, _created = ExamOverride.objects.update_or_create(
        exam=exam, user=user, defaults={"extra_minutes": extra_minutes, "extra_attempts": extra_attempts,
                                        "reason": reason, "granted_by": actor, "granted_at": timezone.now()})
    if extra_minutes != old_minutes:
        delta = datetime.timedelta(minutes=extra_minutes - old_minutes)
        for attempt in Attempt.objects.select_for_update().filter(exam=exam, user=user, status=AttemptStatus.OPEN,
                                                                  deadline__isnull=False):
            attempt.deadline += delta
            attempt.save(update_fields=["deadline"])
    audit_log(actor=actor, action="learning.exam_override", obj=override, before=before,
              after={"exam": exam.pk, "user": user.pk, "extra_minutes": extra_minutes,
                     "extra_attempts": extra_attempts}, reason=reason)
    return override
