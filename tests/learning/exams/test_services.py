import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError, PermissionDenied
from learning.exams.models import Attempt, AttemptStatus
from learning.exams.selectors import attempt_questions, exam_grade, review_visible
from learning.exams.services import (
    attempt_answer,
    attempt_start,
    attempt_submit,
    attempts_submit_overdue,
    exam_override_grant,
)
from learning.questions.models import QuestionKind
from tests.factories import user_with_role
from tests.learning.exam_builders import answer_all, make_bank, make_exam, make_question, right_answer

pytestmark = pytest.mark.django_db


def test_random_draw_takes_the_counts_per_category_and_difficulty():
    bank = make_bank(per_difficulty=4)
    fixed = make_question(category=bank.other)
    exam = make_exam(fixed=[fixed], draws=[(bank.root, 3, 5), (bank.other, None, 4)])
    attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    items = list(attempt.questions.select_related("question"))
    assert len(items) == 10
    assert fixed.pk in {item.question_id for item in items}
    drawn_root = [item for item in items if item.category_id in (bank.root.pk, bank.child.pk)]
    assert len(drawn_root) == 5 and all(item.question.difficulty == 3 for item in drawn_root)
    assert len({item.question_id for item in items}) == 10
    assert sorted(item.position for item in items) == list(range(1, 11))


def test_no_repeats_across_attempts_while_the_pool_allows():
    bank = make_bank(per_difficulty=2)  # 6 questions in `other`
    exam = make_exam(draws=[(bank.other, None, 3)], attempts_allowed=0)
    rep = user_with_role("rep")
    seen = []
    for _round in range(2):
        attempt = attempt_start(user=rep, exam_id=exam.pk)
        seen.append({item.question_id for item in attempt.questions.all()})
        attempt_submit(user=rep, attempt_id=attempt.pk)
    assert not seen[0] & seen[1]
    third = attempt_start(user=rep, exam_id=exam.pk)  # the pool is used up: repeats, the least seen first
    assert len({item.question_id for item in third.questions.all()}) == 3


def test_question_and_option_order_differ_per_attempt():
    bank = make_bank(per_difficulty=4)
    exam = make_exam(draws=[(bank.root, None, 20)])
    orders, options = set(), set()
    for seed in range(4):
        attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk, rng=random.Random(seed))
        items = list(attempt.questions.order_by("position"))
        orders.add(tuple(item.question_id for item in items))
        options.add(tuple(tuple(item.option_order) for item in items))
    assert len(orders) == 4 and len(options) == 4


def test_pool_too_small_is_refused():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.other, 1, 2)])
    with pytest.raises(DomainError) as error:
        attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    assert error.value.code == "question_pool_too_small"
    assert not Attempt.objects.exists()


def test_start_again_returns_the_open_attempt():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 3)])
    rep = user_with_role("rep")
    assert attempt_start(user=rep, exam_id=exam.pk) == attempt_start(user=rep, exam_id=exam.pk)


def test_only_learners_take_exams():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.root, None, 1)])
    for role in ("marketing", "compliance"):
        with pytest.raises(PermissionDenied):
            attempt_start(user=user_with_role(role), exam_id=exam.pk)
    assert attempt_start(user=user_with_role("doctor"), exam_id=exam.pk).is_open


def test_answers_are_saved_idempotently_and_an_older_save_never_wins():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=bank.questions[:2], shuffle_options=False)
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    item = attempt.questions.get(question=bank.questions[0])
    attempt_answer(user=rep, attempt_id=attempt.pk, position=item.position, answer="B", seq=2)
    attempt_answer(user=rep, attempt_id=attempt.pk, position=item.position, answer="B", seq=2)
    attempt_answer(user=rep, attempt_id=attempt.pk, position=item.position, answer="C", seq=1)  # late, older
    item.refresh_from_db()
    assert item.answer == "B" and item.answer_seq == 2
    attempt_answer(user=rep, attempt_id=attempt.pk, position=item.position, answer="A", seq=3)
    item.refresh_from_db()
    assert item.answer == "A"


@pytest.mark.parametrize("answer", ["Z", ["A"], 7, {"a": 1}])
def test_malformed_answers_are_refused(answer):
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=[bank.questions[0]])
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    with pytest.raises(DomainError) as error:
        attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer=answer)
    assert error.value.code == "invalid_answer"
    assert attempt.questions.get().answer is None


def test_another_learner_cannot_answer_my_attempt():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=[bank.questions[0]])
    attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    with pytest.raises(DomainError) as error:
        attempt_answer(user=user_with_role("rep"), attempt_id=attempt.pk, position=1, answer="A")
    assert error.value.code == "not_found"


def test_deadline_and_grace_with_frozen_time():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 3)], time_limit_minutes=10, grace_seconds=30)
    rep = user_with_role("rep")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        attempt = attempt_start(user=rep, exam_id=exam.pk)
    assert attempt.deadline == start + timedelta(minutes=10)
    with time_machine.travel(start + timedelta(minutes=10, seconds=29), tick=False):
        attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer=attempt.questions.get(position=1)
                       .option_order[0], seq=1)  # inside the grace: saved
    with time_machine.travel(start + timedelta(minutes=10, seconds=31), tick=False):
        with pytest.raises(DomainError) as error:
            attempt_answer(user=rep, attempt_id=attempt.pk, position=2,
                           answer=attempt.questions.get(position=2).option_order[0], seq=1)
        assert error.value.code == "deadline_passed"
        assert attempts_submit_overdue() == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.auto_submitted
    answered = dict(attempt.questions.values_list("position", "answer"))
    assert answered[1] is not None and answered[2] is None
    assert AuditEntry.objects.filter(action="learning.attempt_auto_submit", object_id=str(attempt.pk)).exists()


def test_auto_submit_leaves_attempts_inside_their_grace_alone():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.root, None, 2)], time_limit_minutes=5, grace_seconds=60)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    with time_machine.travel(start + timedelta(minutes=5, seconds=30), tick=False):
        assert attempts_submit_overdue() == 0
    attempt.refresh_from_db()
    assert attempt.is_open


def test_submit_grades_once_and_answers_after_submit_are_refused():
    bank = make_bank(per_difficulty=2, kinds=(QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.TRUE_FALSE,
                                              QuestionKind.FILL_IN))
    exam = make_exam(draws=[(bank.root, None, 8)], pass_mark_percent=75)
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(attempt, right=True, how_many=6)
    graded = attempt_submit(user=rep, attempt_id=attempt.pk)
    assert (graded.score, graded.max_score, graded.percent, graded.passed) == (6, 8, 75, True)
    again = attempt_submit(user=rep, attempt_id=attempt.pk)
    assert again.submitted_at == graded.submitted_at and again.score == graded.score
    with pytest.raises(DomainError) as error:
        attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer=None)
    assert error.value.code == "attempt_closed"
    assert AuditEntry.objects.filter(action="learning.attempt_submit", object_id=str(attempt.pk)).count() == 1
    correctness = list(attempt.questions.values_list("category_id", "is_correct"))
    assert sum(ok for _category, ok in correctness) == 6 and all(c for c, _ok in correctness)


def test_attempts_allowed_delay_and_grading():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 2)], attempts_allowed=2, delay_minutes=60, grading="highest")
    rep = user_with_role("rep")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = attempt_start(user=rep, exam_id=exam.pk)
        answer_all(first, right=True)
        attempt_submit(user=rep, attempt_id=first.pk)
        with pytest.raises(DomainError) as error:
            attempt_start(user=rep, exam_id=exam.pk)
        assert error.value.code == "attempt_too_soon"
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        second = attempt_start(user=rep, exam_id=exam.pk)
        attempt_submit(user=rep, attempt_id=second.pk)
    with time_machine.travel(start + timedelta(minutes=130), tick=False):
        with pytest.raises(DomainError) as error:
            attempt_start(user=rep, exam_id=exam.pk)
        assert error.value.code == "no_attempts_left"
    assert exam_grade(user=rep, exam=exam) == first
    exam.grading = "last"
    exam.save()
    assert exam_grade(user=rep, exam=exam) == second


def test_overrides_give_extra_time_and_attempts_and_are_audited():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 2)], attempts_allowed=1, time_limit_minutes=20)
    rep, staff = user_with_role("rep"), user_with_role("compliance")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    deadline = attempt.deadline
    with pytest.raises(PermissionDenied):
        exam_override_grant(actor=user_with_role("rep"), exam=exam, user=rep, extra_minutes=10, reason="x")
    with pytest.raises(DomainError) as error:
        exam_override_grant(actor=staff, exam=exam, user=rep, extra_minutes=10, reason=" ")
    assert error.value.code == "reason_required"
    exam_override_grant(actor=staff, exam=exam, user=rep, extra_minutes=10, extra_attempts=1, reason="视障辅助")
    attempt.refresh_from_db()
    assert attempt.deadline == deadline + timedelta(minutes=10)
    attempt_submit(user=rep, attempt_id=attempt.pk)
    second = attempt_start(user=rep, exam_id=exam.pk)
    assert second.number == 2 and second.deadline - second.started_at == timedelta(minutes=30)
    entry = AuditEntry.objects.get(action="learning.exam_override")
    assert entry.reason == "视障辅助" and entry.after["extra_attempts"] == 1


def test_review_modes():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=[bank.questions[0]], review_mode="after_close")
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    assert not review_visible(attempt)
    attempt = attempt_submit(user=rep, attempt_id=attempt.pk)
    assert not review_visible(attempt)
    exam.closes_at = timezone.now() - timedelta(minutes=1)
    exam.save()
    attempt.exam.refresh_from_db()
    assert review_visible(attempt)
    shown = attempt_questions(attempt=attempt, review=True)
    assert shown[0].explanation == "因为如此。" and any(option.correct for option in shown[0].options)
    exam.review_mode = "never"
    exam.save()
    attempt.exam.refresh_from_db()
    assert not review_visible(attempt)
    assert all(option.correct is None for option in attempt_questions(attempt=attempt)[0].options)


def test_right_answer_helper_uses_the_shown_version():
    bank = make_bank(per_difficulty=1, kinds=(QuestionKind.FILL_IN,))
    exam = make_exam(fixed=[bank.questions[0]])
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    item = attempt.questions.select_related("version", "question").get()
    attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer=right_answer(item))
    assert attempt_submit(user=rep, attempt_id=attempt.pk).passed


def test_answer_save_locks_the_attempt_row():
    """The save is one UPDATE whose subquery locks the attempt (FOR NO KEY UPDATE): a submit holding the row
    waits, and an answer never lands after the grade."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=[bank.questions[0]], shuffle_options=False)
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    with CaptureQueriesContext(connection) as queries:
        attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer="A", seq=1)
    update = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(update) == 1 and "FOR NO KEY UPDATE" in update[0]


def test_a_learners_run_time_rows_stay_out_of_wagtails_reference_index():
    """Starting an attempt wrote a reference-index row (three content-type reads, a savepoint, a read and an
    insert: 7 of the 25 statements of an exam start) — for rows no editor looks up. A learner's run-time rows are
    not content."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from wagtail.models import ReferenceIndex

    from learning.courses.models import CourseCompletion, LessonProgress
    from learning.exams.models import AttemptQuestion
    from learning.scorm.models import ScormCommit, ScormRegistration

    for model in (Attempt, AttemptQuestion, LessonProgress, CourseCompletion, ScormRegistration, ScormCommit):
        assert not ReferenceIndex.model_is_indexable(model), model
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=bank.questions[:2], shuffle_options=False)
    rep = user_with_role("rep")
    with CaptureQueriesContext(connection) as queries:
        attempt = attempt_start(user=rep, exam_id=exam.pk)
        attempt_answer(user=rep, attempt_id=attempt.pk, position=1, answer="A", seq=1)
        attempt_submit(user=rep, attempt_id=attempt.pk)
    touched = [q["sql"] for q in queries.captured_queries if "wagtailcore_referenceindex" in q["sql"]]
    assert touched == []
