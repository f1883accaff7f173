"""Real threads against PostgreSQL: one open attempt per learner per exam, one grade per attempt."""

import pytest
from django.db import IntegrityError

from engage.audit.models import AuditEntry
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus
from learning.exams.services import attempt_answer, attempt_start, attempt_submit
from tests.factories import user_with_role
from tests.learning.exam_builders import answer_all, make_bank, make_exam
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_starts_give_one_open_attempt():
    bank = make_bank(per_difficulty=3)
    exam = make_exam(draws=[(bank.root, None, 5)])
    rep = user_with_role("rep")
    results = raise_first(race(8, lambda i: attempt_start(user=rep, exam_id=exam.pk)))
    assert len({attempt.pk for attempt in results}) == 1
    assert Attempt.objects.filter(exam=exam, user=rep).count() == 1
    assert AttemptQuestion.objects.filter(attempt__exam=exam).count() == 5


def test_the_database_refuses_a_second_open_attempt():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.root, None, 1)])
    rep = user_with_role("rep")
    Attempt.objects.create(exam=exam, user=rep, number=1)
    with pytest.raises(IntegrityError):
        Attempt.objects.create(exam=exam, user=rep, number=2)


def test_concurrent_double_submit_grades_once():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 4)])
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(attempt, right=True, how_many=3)
    results = raise_first(race(6, lambda i: attempt_submit(user=rep, attempt_id=attempt.pk)))
    assert {(r.status, r.score, r.submitted_at) for r in results} == {
        (AttemptStatus.SUBMITTED, results[0].score, results[0].submitted_at)}
    assert results[0].score == 3
    assert AuditEntry.objects.filter(action="learning.attempt_submit", object_id=str(attempt.pk)).count() == 1


def test_answers_racing_a_submit_are_either_graded_or_refused():
    bank = make_bank(per_difficulty=2)
    exam = make_exam(draws=[(bank.root, None, 6)], shuffle_options=False)
    rep = user_with_role("rep")
    attempt = attempt_start(user=rep, exam_id=exam.pk)

    def act(i):
        if i == 0:
            return attempt_submit(user=rep, attempt_id=attempt.pk)
        return attempt_answer(user=rep, attempt_id=attempt.pk, position=i, answer="A", seq=1)

    results = race(7, act)
    raise_first(results, allow=Exception)
    graded = Attempt.objects.get(pk=attempt.pk)
    saved = AttemptQuestion.objects.filter(attempt=attempt, answer__isnull=False)
    # Whatever was saved was saved before the grade and counted in it: nothing changed afterwards.
    assert graded.score == saved.filter(is_correct=True).count()
    assert not saved.filter(is_correct__isnull=True).exists()

