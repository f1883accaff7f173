import json

import pytest
from django.test import Client

from learning.exams.models import Attempt, AttemptStatus
from learning.exams.services import attempt_start
from tests.factories import user_with_role
from tests.learning.exam_builders import make_bank, make_exam

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def _attempt_of_size(n: int):
    bank = make_bank(per_difficulty=n)
    exam = make_exam(draws=[(bank.root, None, n)], time_limit_minutes=30)
    rep = user_with_role("rep")
    return rep, attempt_start(user=rep, exam_id=exam.pk)


def _queries_for_page(django_assert_num_queries, n: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rep, attempt = _attempt_of_size(n)
    client = _client(rep)
    client.get(f"/learning/attempts/{attempt.pk}/")  # warm the session and the role cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/learning/attempts/{attempt.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="attempt-question"') == n
    return len(queries.captured_queries)


def test_exam_page_queries_do_not_grow_with_the_number_of_questions(django_assert_num_queries):
    small = _queries_for_page(django_assert_num_queries, 3)
    large = _queries_for_page(django_assert_num_queries, 12)
    assert small == large
    rep, attempt = _attempt_of_size(5)
    client = _client(rep)
    client.get(f"/learning/attempts/{attempt.pk}/")
    with django_assert_num_queries(small):
        client.get(f"/learning/attempts/{attempt.pk}/")


def test_taking_an_exam_through_the_pages_without_script():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=bank.questions[:3], shuffle_options=False, pass_mark_percent=60)
    rep = user_with_role("rep")
    client = _client(rep)
    page = client.get(f"/learning/exams/{exam.pk}/")
    assert page.status_code == 200 and b'data-testid="exam-start"' in page.content
    response = client.post(f"/learning/exams/{exam.pk}/start/")
    attempt = Attempt.objects.get(user=rep)
    assert response.status_code == 302 and response["Location"] == f"/learning/attempts/{attempt.pk}/"
    positions = dict(attempt.questions.values_list("question_id", "position"))
    answers = {f"q{positions[q.pk]}": "A" for q in bank.questions[:2]}
    response = client.post(f"/learning/attempts/{attempt.pk}/submit/", answers)
    assert response["Location"] == f"/learning/attempts/{attempt.pk}/result/"
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.score == 2 and attempt.passed
    result = client.get(response["Location"])
    assert b'data-passed="1"' in result.content and result.content.count(b'data-testid="review-question"') == 3
    assert client.get(f"/learning/attempts/{attempt.pk}/").status_code == 302  # closed: to the result


def test_somebody_elses_attempt_is_not_found():
    _rep, attempt = _attempt_of_size(1)
    client = _client(user_with_role("rep"))
    for url in (f"/learning/attempts/{attempt.pk}/", f"/learning/attempts/{attempt.pk}/result/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/learning/attempts/{attempt.pk}/submit/").status_code == 404


def test_api_start_answer_reload_submit():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=bank.questions[:2], shuffle_options=False)
    rep = user_with_role("rep")
    client = _client(rep)
    started = client.post(f"/api/v1/learning/exams/{exam.pk}/attempts")
    assert started.status_code == 201
    body = started.json()
    assert len(body["questions"]) == 2 and "correct" not in json.dumps(body)
    url = f"/api/v1/learning/attempts/{body['attempt_id']}/answers/1"
    saved = client.put(url, {"answer": "A", "seq": 1}, content_type="application/json")
    assert saved.status_code == 200 and saved.json()["answer"] == "A"
    again = client.post(f"/api/v1/learning/exams/{exam.pk}/attempts").json()  # a reload resumes
    assert again["attempt_id"] == body["attempt_id"] and again["questions"][0]["answer"] == "A"
    submitted = client.post(f"/api/v1/learning/attempts/{body['attempt_id']}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    late = client.put(url, {"answer": "B", "seq": 2}, content_type="application/json")
    assert late.status_code == 409 and late.json()["code"] == "attempt_closed"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"answer": "Z", "seq": 1}, 422, "invalid_answer"),
    ({"answer": 5}, 422, "invalid_input"),
    ({"answer": "A", "seq": -1}, 422, "invalid_input"),
    ({"answer": "A", "extra": 1}, 422, "invalid_input"),
    ("not json", 400, "malformed_request"),
])
def test_api_refuses_malformed_answers(body, status, code):
    rep, attempt = _attempt_of_size(1)
    client = _client(rep)
    response = client.put(f"/api/v1/learning/attempts/{attempt.pk}/answers/1",
                          body if isinstance(body, str) else json.dumps(body), content_type="application/json")
    assert response.status_code == status and response.json()["code"] == code
    assert attempt.questions.get().answer is None


def test_api_for_staff_and_anonymous():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(fixed=bank.questions[:1])
    assert Client().post(f"/api/v1/learning/exams/{exam.pk}/attempts").status_code == 401
    response = _client(user_with_role("compliance")).post(f"/api/v1/learning/exams/{exam.pk}/attempts")
    assert response.status_code == 403
