"""Writes of the knowledge base: its search index, reps' questions to medical, medical's answers, and an answer
turned into a knowledge-base entry (a draft that starts the medical → compliance review)."""

import uuid

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from cms.pages.models import Product
from cms.pages.search import index_terms
from cms.review.services import content_submit_for_review
from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from engage.inbox.services import notification_send
from learning.knowledge.models import (
    KnowledgeEntryPage,
    KnowledgeIndexPage,
    KnowledgeKind,
    KnowledgeQuestion,
    KnowledgeSearchTerm,
    QuestionStatus,
)

MAX_QUESTION_LENGTH = 2000
MAX_ANSWER_LENGTH = 10000
MAX_ASKED_FROM_LENGTH = 500


@transaction.atomic
def knowledge_index_entry(*, entry_id: int) -> int:
    """Replaces the entry's search terms with those of its live content; an entry that is not live has none.

    Returns how many terms it has. Idempotent, also when two publishes of one entry index it at once.
    """
    entry = KnowledgeEntryPage.objects.select_for_update().select_related("product").filter(pk=entry_id).first()
    KnowledgeSearchTerm.objects.filter(entry_id=entry_id).delete()
    if entry is None or not entry.live:
        return 0
    terms = index_terms(entry.search_text_parts())
    KnowledgeSearchTerm.objects.bulk_create(
        [KnowledgeSearchTerm(entry_id=entry.pk, term=term, weight=weight) for term, weight in terms.items()])
    return len(terms)


def _token(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise DomainError("invalid_token", _("The form has expired; reload the page and ask again.")) from None


def question_ask(*, actor, question: str, product_id: int | None = None, asked_from: str = "",
                 client_token) -> tuple[KnowledgeQuestion, bool]:
    """Stores a rep's question to medical. A second submit of the same form (same `client_token`) returns the
    first question and changes nothing. Returns (question, created)."""
    if not can(actor, Capability.ASK_MEDICAL):
        raise PermissionDenied("ask_medical_not_allowed", _("Only sales reps can send questions to medical."))
    text = (question or "").strip()
    if not text:
        raise DomainError("question_empty", _("Write your question first."))
    if len(text) > MAX_QUESTION_LENGTH:
        raise DomainError("question_too_long", _("A question can be at most %(limit)s characters.")
                          % {"limit": MAX_QUESTION_LENGTH})
    token = _token(client_token)
    product = None
    if product_id is not None:
        product = Product.objects.filter(pk=product_id).first()
        if product is None:
            raise DomainError("product_not_found", _("No such product."))
    asked_from = (asked_from or "")[:MAX_ASKED_FROM_LENGTH]
    if not asked_from.startswith("/") or asked_from.startswith("//"):
        asked_from = ""  # only a path of this site is kept
    existing = KnowledgeQuestion.objects.filter(asker=actor, client_token=token).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            created = KnowledgeQuestion.objects.create(asker=actor, client_token=token, product=product,
                                                       question=text, asked_from=asked_from)
            audit_log(actor=actor, action="knowledge.question_ask", obj=created,
                      after={"product": product.pk if product else None, "asked_from": asked_from,
                             "length": len(text)})
    except IntegrityError:  # the same form submitted twice at the same moment
        return KnowledgeQuestion.objects.get(asker=actor, client_token=token), False
    return created, True


def _require_medical(actor) -> None:
    if not can(actor, Capability.ANSWER_MEDICAL_QUESTIONS):
        raise PermissionDenied("answer_not_allowed", _("Only medical staff answer questions to medical."))


@transaction.atomic
def question_answer(*, actor, question_id: int, answer: str) -> KnowledgeQuestion:
    """Medical answers an open question; the rep is told in the inbox (once). An answered question is not
    answered again."""
    _require_medical(actor)
    text = (answer or "").strip()
    if not text:
        raise DomainError("answer_empty", _("Write the answer first."))
    if len(text) > MAX_ANSWER_LENGTH:
        raise DomainError("answer_too_long", _("An answer can be at most %(limit)s characters.")
                          % {"limit": MAX_ANSWER_LENGTH})
    question = KnowledgeQuestion.objects.select_for_update().filter(pk=question_id).first()
    if question is None:
        raise NotFound("knowledge_question_not_found", _("No such question."))
    if question.status != QuestionStatus.OPEN:
        raise Conflict("question_already_answered", _("This question has already been answered."))
    question.status, question.answer = QuestionStatus.ANSWERED, text
    question.answered_by, question.answered_at = actor, timezone.now()
    question.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    audit_log(actor=actor, action="knowledge.question_answer", obj=question,
              after={"asker": question.asker_id, "length": len(text)})
    notification_send(
        user=question.asker, kind="knowledge.answered", title=_("Medical answered your question"),
        body=text[:500], url=reverse("learning:knowledge_questions") + f"#question-{question.pk}",
        key=f"knowledge.answered:{question.pk}",
    )
    return question


@transaction.atomic
def question_publish_as_entry(*, actor, question_id: int, title: str, kind: str = KnowledgeKind.FAQ,
                              product_id: int | None = None) -> KnowledgeEntryPage:
    """Turns an answered question into a draft knowledge-base entry and submits it to the medical → compliance
    review; it goes live only when both approve. One entry per question."""
    _require_medical(actor)
    title = (title or "").strip()
    if not title or len(title) > 255:
        raise DomainError("entry_title_invalid", _("Give the entry a title of at most 255 characters."))
    if kind not in KnowledgeKind.values:
        raise DomainError("entry_kind_invalid", _("Choose what kind of entry this is."))
    question = KnowledgeQuestion.objects.select_for_update().filter(pk=question_id).first()
    if question is None:
        raise NotFound("knowledge_question_not_found", _("No such question."))
    if question.status != QuestionStatus.ANSWERED:
        raise DomainError("question_not_answered", _("Answer the question before publishing it."))
    if question.entry_id is not None:
        raise Conflict("question_already_published", _("This answer is already a knowledge-base entry."))
    product = Product.objects.filter(pk=product_id).first() if product_id else question.product
    if product is None:
        raise DomainError("product_required", _("Choose the product this entry is about."))
    index = KnowledgeIndexPage.objects.first()
    if index is None:
        raise DomainError("knowledge_index_missing", _("Create the knowledge base page in the page tree first."))
    body = "".join(f"<p>{escape(line)}</p>" for line in question.answer.splitlines() if line.strip())
    entry = KnowledgeEntryPage(title=title, slug=f"question-{question.pk}", product=product, kind=kind,
                               summary=question.question[:500], body=body, source_question=question, owner=actor,
                               live=False)
    Page.objects.get(pk=index.pk).add_child(instance=entry)
    entry.save_revision(user=actor, log_action=True)
    content_submit_for_review(page=entry, user=actor)
    question.entry = entry
    question.save(update_fields=["entry"])
    audit_log(actor=actor, action="knowledge.question_publish", obj=question,
              after={"entry": entry.pk, "title": title, "kind": kind, "product": product.pk})
    return entry
