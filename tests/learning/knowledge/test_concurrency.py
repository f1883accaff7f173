"""Real threads against PostgreSQL: a question form submitted many times at once asks once."""

import uuid

import pytest

from learning.knowledge.models import KnowledgeQuestion
from learning.knowledge.services import question_ask
from tests.factories import user_with_role
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_question_form_submitted_at_once_asks_once():
    rep = user_with_role("rep")
    token = uuid.uuid4()
    results = raise_first(race(6, lambda i: question_ask(actor=rep, question="并发提问", client_token=token)))
    assert sum(1 for _question, created in results if created) == 1
    assert KnowledgeQuestion.objects.filter(asker=rep).count() == 1
