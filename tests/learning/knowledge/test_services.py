"""Knowledge base writes: entries go live only through review and are indexed for the Chinese search; reps ask,
medical answers (the rep is told in the inbox), an answer becomes a draft entry in review."""

import uuid

import pytest
from wagtail.models import WorkflowState

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.inbox.models import Notification
from learning.knowledge.models import KnowledgeEntryPage, KnowledgeQuestion, KnowledgeSearchTerm
from learning.knowledge.services import question_answer, question_ask, question_publish_as_entry
from tests.factories import user_with_role
from tests.learning.knowledge.builders import knowledge_index, make_entry, product

pytestmark = pytest.mark.django_db


def test_an_entry_is_published_only_with_both_approvals_and_then_indexed():
    entry = make_entry(publish=False)
    revision = entry.save_revision()
    with pytest.raises(DomainError) as caught:
        revision.publish()
    assert caught.value.code == "revision_not_approved"
    assert not KnowledgeSearchTerm.objects.filter(entry=entry).exists()


def test_a_reviewed_entry_is_live_with_an_approval_code_and_search_terms():
    entry = make_entry()
    entry.refresh_from_db()
    assert entry.live and entry.approval_code.startswith("CN-KB-")
    terms = set(KnowledgeSearchTerm.objects.filter(entry=entry).values_list("term", flat=True))
    assert {"低血糖", "达格列净"} <= terms


def test_unpublishing_removes_the_entry_from_the_search():
    entry = make_entry()
    entry.unpublish()
    assert not KnowledgeSearchTerm.objects.filter(entry=entry).exists()


def _ask(rep, text="糖稳宁能和胰岛素合用吗？", token=None, **kwargs):
    return question_ask(actor=rep, question=text, client_token=token or uuid.uuid4(), **kwargs)


def test_a_rep_asks_medical_once_per_form():
    rep = user_with_role("rep")
    token = uuid.uuid4()
    question, created = _ask(rep, token=token, product_id=product().pk, asked_from="/learning/courses/1/")
    again, created_again = _ask(rep, token=token)
    assert created and not created_again and again.pk == question.pk
    assert KnowledgeQuestion.objects.count() == 1
    assert question.asked_from == "/learning/courses/1/"
    assert AuditEntry.objects.filter(action="knowledge.question_ask").count() == 1


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"question": ""}, "question_empty"),
    ({"question": "   "}, "question_empty"),
    ({"question": "问" * 2001}, "question_too_long"),
    ({"product_id": 999999}, "product_not_found"),
    ({"client_token": "not-a-uuid"}, "invalid_token"),
])
def test_bad_questions_are_refused_and_store_nothing(kwargs, code):
    rep = user_with_role("rep")
    arguments = {"actor": rep, "question": "问题", "client_token": uuid.uuid4(), **kwargs}
    with pytest.raises(DomainError) as caught:
        question_ask(**arguments)
    assert caught.value.code == code
    assert not KnowledgeQuestion.objects.exists()


def test_an_outside_address_is_not_kept_as_where_the_question_was_asked():
    question, _created = _ask(user_with_role("rep"), asked_from="https://evil.example/phish")
    assert question.asked_from == ""


@pytest.mark.parametrize("role", ["doctor", "marketing", "medical_reviewer"])
def test_only_reps_ask_medical(role):
    with pytest.raises(DomainError) as caught:
        _ask(user_with_role(role))
    assert caught.value.code == "ask_medical_not_allowed"


def test_medical_answers_and_the_rep_is_told_in_the_inbox_once():
    rep, medical = user_with_role("rep"), user_with_role("medical_reviewer")
    question, _created = _ask(rep)
    answered = question_answer(actor=medical, question_id=question.pk, answer="可以合用，但需减少胰岛素剂量。")
    assert answered.status == "answered" and answered.answered_by == medical
    notification = Notification.objects.get(user=rep)
    assert notification.kind == "knowledge.answered" and "胰岛素" in notification.body
    with pytest.raises(DomainError) as caught:
        question_answer(actor=medical, question_id=question.pk, answer="再答一次")
    assert caught.value.code == "question_already_answered"
    assert Notification.objects.filter(user=rep).count() == 1
    question.refresh_from_db()
    assert question.answer == "可以合用，但需减少胰岛素剂量。"


@pytest.mark.parametrize("role", ["rep", "marketing", "compliance"])
def test_only_medical_answers(role):
    question, _created = _ask(user_with_role("rep"))
    with pytest.raises(DomainError) as caught:
        question_answer(actor=user_with_role(role), question_id=question.pk, answer="答")
    assert caught.value.code == "answer_not_allowed"
    question.refresh_from_db()
    assert question.status == "open"


def test_an_empty_answer_is_refused():
    question, _created = _ask(user_with_role("rep"))
    with pytest.raises(DomainError) as caught:
        question_answer(actor=user_with_role("medical_reviewer"), question_id=question.pk, answer="  ")
    assert caught.value.code == "answer_empty"


def test_an_answer_becomes_a_draft_entry_in_review_once():
    knowledge_index()
    rep, medical = user_with_role("rep"), user_with_role("medical_reviewer")
    question, _created = _ask(rep, product_id=product().pk)
    with pytest.raises(DomainError) as caught:
        question_publish_as_entry(actor=medical, question_id=question.pk, title="合用胰岛素")
    assert caught.value.code == "question_not_answered"
    question_answer(actor=medical, question_id=question.pk, answer="可以合用。\n需监测血糖。")
    entry = question_publish_as_entry(actor=medical, question_id=question.pk, title="合用胰岛素", kind="faq")
    entry = KnowledgeEntryPage.objects.get(pk=entry.pk)
    assert not entry.live and entry.source_question_id == question.pk
    assert "需监测血糖" in entry.get_latest_revision().as_object().body
    assert WorkflowState.objects.filter(base_content_type__isnull=False, object_id=str(entry.pk),
                                        status=WorkflowState.STATUS_IN_PROGRESS).exists()
    with pytest.raises(DomainError) as caught:
        question_publish_as_entry(actor=medical, question_id=question.pk, title="再来一次")
    assert caught.value.code == "question_already_published"


def test_an_entry_needs_a_product():
    knowledge_index()
    medical = user_with_role("medical_reviewer")
    question, _created = _ask(user_with_role("rep"))
    question_answer(actor=medical, question_id=question.pk, answer="答")
    with pytest.raises(DomainError) as caught:
        question_publish_as_entry(actor=medical, question_id=question.pk, title="标题")
    assert caught.value.code == "product_required"
