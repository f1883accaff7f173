"""Knowledge-base pages for reps, asking medical from any page, and medical's admin queue."""

import uuid

import pytest
from django.test import Client

from learning.knowledge.models import KnowledgeQuestion
from learning.knowledge.services import question_ask
from tests.factories import make_doctor, user_with_role
from tests.learning.knowledge.builders import knowledge_index, make_entry, product

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_reps_search_the_knowledge_base_page():
    entry = make_entry()
    response = _client(user_with_role("rep")).get(knowledge_index().url, {"q": "低血糖"})
    assert response.status_code == 200
    assert entry.title in response.content.decode()
    assert "private" in response["Cache-Control"]
    assert 'data-testid="ask-medical"' in response.content.decode()


def test_every_page_offers_reps_to_ask_medical_from_where_they_are():
    html = _client(user_with_role("rep")).get("/learning/knowledge/questions/").content.decode()
    assert 'href="/learning/knowledge/ask/?from=%2Flearning%2Fknowledge%2Fquestions%2F"' in html
    assert 'data-testid="ask-medical"' not in _client(make_doctor()).get("/").content.decode()


def test_an_entry_page_is_for_reps_and_staff_only():
    entry = make_entry()
    assert _client(user_with_role("rep")).get(entry.url).status_code == 200
    assert _client(user_with_role("marketing")).get(entry.url).status_code == 200
    assert _client(make_doctor()).get(entry.url).status_code == 403
    anonymous = _client().get(entry.url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_asking_from_a_page_goes_back_to_it_and_a_double_submit_asks_once():
    rep = user_with_role("rep")
    client = _client(rep)
    form = client.get("/learning/knowledge/ask/", {"from": "/learning/courses/"})
    assert form.status_code == 200
    token = form.context["client_token"]
    data = {"question": "可以给医生看说明书以外的研究吗？", "product": str(product().pk), "client_token": str(token),
            "from": "/learning/courses/"}
    first = client.post("/learning/knowledge/ask/", data)
    second = client.post("/learning/knowledge/ask/", data)
    assert first.status_code == 302 and first["Location"] == "/learning/courses/"
    assert second.status_code == 302
    assert KnowledgeQuestion.objects.filter(asker=rep).count() == 1


@pytest.mark.parametrize(("data", "status"), [
    ({"question": ""}, 400),
    ({"question": "问" * 2001}, 400),
    ({"question": "问题", "product": "abc"}, 400),
    ({"question": "问题", "product": "999999"}, 400),
    ({"question": "问题", "client_token": "forged"}, 400),
])
def test_bad_questions_show_the_form_again_with_the_error(data, status):
    rep = user_with_role("rep")
    response = _client(rep).post("/learning/knowledge/ask/", {"client_token": str(uuid.uuid4()), **data})
    assert response.status_code == status
    assert 'data-testid="ask-error"' in response.content.decode()
    assert not KnowledgeQuestion.objects.exists()


def test_an_outside_return_address_is_not_followed():
    rep = user_with_role("rep")
    response = _client(rep).post("/learning/knowledge/ask/", {
        "question": "问题", "client_token": str(uuid.uuid4()), "from": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/learning/knowledge/questions/"


def test_doctors_may_not_ask_medical_here():
    assert _client(make_doctor()).get("/learning/knowledge/ask/").status_code == 403


def test_a_rep_sees_only_their_own_questions_with_the_answers():
    rep, other = user_with_role("rep"), user_with_role("rep")
    question_ask(actor=rep, question="我的问题", client_token=uuid.uuid4())
    question_ask(actor=other, question="别人的问题", client_token=uuid.uuid4())
    html = _client(rep).get("/learning/knowledge/questions/").content.decode()
    assert "我的问题" in html and "别人的问题" not in html


def test_medical_answers_in_the_admin_and_publishes_the_answer_for_review():
    knowledge_index()
    rep, medical = user_with_role("rep"), user_with_role("medical_reviewer")
    question, _created = question_ask(actor=rep, question="合用问题", product_id=product().pk,
                                      client_token=uuid.uuid4())
    client = _client(medical)
    assert client.get("/admin/knowledge/questions/").status_code == 200
    url = f"/admin/knowledge/questions/{question.pk}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "answer", "answer": "可以。"}).status_code == 302
    assert client.post(url, {"action": "publish", "title": "合用", "kind": "faq",
                             "product": str(product().pk)}).status_code == 302
    question.refresh_from_db()
    assert question.status == "answered" and question.entry is not None and not question.entry.live


@pytest.mark.parametrize("role", ["marketing", "compliance"])
def test_other_staff_do_not_reach_the_queue(role):
    response = _client(user_with_role(role)).get("/admin/knowledge/questions/")
    assert response.status_code in (302, 403)
