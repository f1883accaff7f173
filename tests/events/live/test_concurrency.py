"""Votes and heartbeats raced by real threads against PostgreSQL: one vote per person per question and per poll,
exact scores, a minute counted once, and the credit paid once."""

import pytest
from django.core.cache import cache

from events.live import services
from events.live.models import Attendance, PollVote, Question, QuestionVote
from members.points.models import PointsTransaction
from tests.events.factories import make_staff
from tests.events.live.core_helpers import live_rule, make_live_session, registered_doctor
from tests.race import codes, race

pytestmark = pytest.mark.django_db(transaction=True)

N = 8


def _approved_question(session):
    author = registered_doctor(session)
    question = services.question_ask(session=session, author=author, text="Q?")
    return services.question_moderate(question=question, actor=make_staff("medical_reviewer"), action="approve")


def test_question_votes_by_many_people_count_exactly():
    session = make_live_session(state="live")
    question = _approved_question(session)
    doctors = [registered_doctor(session) for _ in range(N)]
    results = race(N, lambda i: services.question_vote(question=question, user=doctors[i]))
    assert [getattr(r, "pk", r) for r in codes(results)] == [question.pk] * N
    assert Question.objects.get(pk=question.pk).score == N == QuestionVote.objects.count()


def test_one_person_voting_many_times_at_once_counts_once():
    session = make_live_session(state="live")
    question = _approved_question(session)
    doctor = registered_doctor(session)
    results = codes(race(N, lambda i: services.question_vote(question=question, user=doctor)))
    assert sorted(r if isinstance(r, str) else "ok" for r in results) == ["already_voted"] * (N - 1) + ["ok"]
    assert Question.objects.get(pk=question.pk).score == 1


def test_one_poll_vote_per_person_however_raced():
    session = make_live_session(state="live")
    staff = make_staff("medical_reviewer")
    poll = services.poll_create(session=session, actor=staff, question="Q", options=["A", "B"])
    services.poll_open(poll=poll, actor=staff)
    options = list(poll.options.values_list("pk", flat=True))
    doctor = registered_doctor(session)
    results = codes(race(N, lambda i: services.poll_vote(poll=poll, user=doctor, option_ids=[options[i % 2]])))
    assert sorted(r if isinstance(r, str) else "ok" for r in results) == ["already_voted"] * (N - 1) + ["ok"]
    assert PollVote.objects.filter(poll=poll).count() == 1


def test_raced_heartbeats_count_a_minute_once_and_pay_once():
    live_rule(points=30)
    session = make_live_session(state="live", credit_min_live_minutes=1)
    doctor = registered_doctor(session)
    cache.clear()
    results = codes(race(N, lambda i: services.heartbeat_record(session=session, viewer=doctor)))
    assert all(isinstance(r, dict) for r in results)
    row = Attendance.objects.get(session=session, viewer=doctor)
    assert row.live_minutes == 1 and row.credited_at is not None
    assert PointsTransaction.objects.filter(account__user=doctor, rule__code="attend_live").count() == 1
