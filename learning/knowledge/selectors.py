"""Who may read the knowledge base and ask medical, and the knowledge-base search.

The knowledge base is internal training material (objection handling is not for doctors): reps and staff read it
(Capability.READ_KNOWLEDGE_BASE). The search segments the query with the content app's Chinese segmentation
(cms.pages.search.query_terms) and ranks by tf-idf over KnowledgeSearchTerm, as cms.pages.selectors.content_search
does for content.
"""

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When
from django.utils.translation import gettext_lazy as _

from cms.pages.models import Product
from cms.pages.search import query_terms
from engage.core.errors import DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from learning.knowledge.models import (
    KnowledgeEntryPage,
    KnowledgeIndexPage,
    KnowledgeKind,
    KnowledgeQuestion,
    KnowledgeSearchTerm,
    QuestionStatus,
)

PAGE_SIZE = 20
MAX_PAGE = 500


def can_read_knowledge(user) -> bool:
    return can(user, Capability.READ_KNOWLEDGE_BASE)


def can_ask_medical(user) -> bool:
    return can(user, Capability.ASK_MEDICAL)


def can_answer_medical_questions(user) -> bool:
    return can(user, Capability.ANSWER_MEDICAL_QUESTIONS)


def knowledge_refusal(*, user) -> DomainError | None:
    """Why `user` may not read the knowledge base, or None."""
    if can_read_knowledge(user):
        return None
    return PermissionDenied("knowledge_not_allowed", _("The knowledge base is for sales reps and staff."))


def knowledge_visible_to(user) -> QuerySet:
    """The live entries `user` may read: all of them for reps and staff, none for anyone else."""
    qs = KnowledgeEntryPage.objects.live()
    return qs if can_read_knowledge(user) else qs.none()


def knowledge_index_page() -> KnowledgeIndexPage | None:
    return KnowledgeIndexPage.objects.live().first()


def access_knowledge_entry(*, user, knowledge_entry_id: int) -> KnowledgeEntryPage:
    """The live entry for a reader of the knowledge base; NotFound for unknown or unpublished entries."""
    refusal = knowledge_refusal(user=user)
    if refusal is not None:
        raise refusal
    entry = knowledge_visible_to(user).filter(pk=knowledge_entry_id).select_related("product").first()
    if entry is None:
        raise NotFound("knowledge_entry_not_found", _("No such knowledge base entry."))
    return entry


def access_knowledge_question(*, user, knowledge_question_id: int) -> KnowledgeQuestion:
    """A question: its asker and medical (who answer) may open it; for anyone else it does not exist."""
    question = (KnowledgeQuestion.objects.select_related("asker", "product", "answered_by", "entry")
                .filter(pk=knowledge_question_id).first())
    if question is None or not (question.asker_id == getattr(user, "pk", None)
                                or can_answer_medical_questions(user)):
        raise NotFound("knowledge_question_not_found", _("No such question."))
    return question


@dataclass(frozen=True)
class KnowledgeFilter:
    q: str = ""
    product: int | None = None
    kind: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params) -> "KnowledgeFilter":
        """Parsed leniently: bad values are dropped, never an error."""
        def number(name):
            value = (params.get(name) or "").strip()
            return int(value) if value.isdigit() and len(value) < 10 else None

        kind = (params.get("kind") or "").strip()
        page = number("page") or 1
        return cls(q=(params.get("q") or "").strip()[:200], product=number("product"),
                   kind=kind if kind in KnowledgeKind.values else "", page=max(1, min(page, MAX_PAGE)))

    @property
    def querystring(self) -> str:
        """The filter without its page, for the pagination links."""
        values = {"q": self.q, "product": self.product or "", "kind": self.kind}
        return urlencode({key: value for key, value in values.items() if value})


@dataclass
class KnowledgeListing:
    items: list
    page: int
    num_pages: int
    total: int
    products: list


def _filtered(user, knowledge_filter: KnowledgeFilter) -> QuerySet:
    qs = knowledge_visible_to(user)
    if knowledge_filter.product:
        qs = qs.filter(product_id=knowledge_filter.product)
    if knowledge_filter.kind:
        qs = qs.filter(kind=knowledge_filter.kind)
    return qs


def knowledge_search(*, user, knowledge_filter: KnowledgeFilter, page_size: int = PAGE_SIZE) -> KnowledgeListing:
    """Entries `user` may read: with a query, those containing every term, best tf-idf first; without one, by
    product and title. Empty, overlong and punctuation-only queries find nothing."""
    products = list(Product.objects.filter(knowledge_entries__in=knowledge_visible_to(user)).distinct()
                    .order_by("name"))
    candidates = _filtered(user, knowledge_filter)
    if not knowledge_filter.q:
        total = candidates.count()
        num_pages = max(1, math.ceil(total / page_size))
        page = min(knowledge_filter.page, num_pages)
        items = list(candidates.select_related("product").order_by("product__name", "kind", "title")
                     [(page - 1) * page_size: page * page_size])
        return KnowledgeListing(items=items, page=page, num_pages=num_pages, total=total, products=products)
    empty = KnowledgeListing(items=[], page=1, num_pages=1, total=0, products=products)
    terms = query_terms(knowledge_filter.q)
    if not terms:
        return empty
    document_frequency = dict(
        KnowledgeSearchTerm.objects.filter(term__in=terms).values_list("term").annotate(n=Count("entry_id"))
        .values_list("term", "n")
    )
    if len(document_frequency) < len(terms):  # some term occurs nowhere: no entry has all of them
        return empty
    total_entries = max(KnowledgeEntryPage.objects.live().count(), 1)
    idf = {term: math.log(1 + total_entries / document_frequency[term]) for term in terms}
    score = Sum(Case(*[When(term=term, then=F("weight") * Value(idf[term])) for term in terms],
                     default=Value(0.0), output_field=FloatField()))
    ranked = (KnowledgeSearchTerm.objects.filter(term__in=terms, entry__in=candidates.values("pk"))
              .values("entry_id").annotate(matched=Count("term"), score=score).filter(matched=len(terms))
              .order_by("-score", "-entry_id"))
    total = ranked.count()
    num_pages = max(1, math.ceil(total / page_size))
    page = min(knowledge_filter.page, num_pages)
    rows = list(ranked[(page - 1) * page_size: page * page_size])
    entries = KnowledgeEntryPage.objects.filter(pk__in=[row["entry_id"] for row in rows]).select_related("product")
    by_id = {entry.pk: entry for entry in entries}
    return KnowledgeListing(items=[by_id[row["entry_id"]] for row in rows], page=page, num_pages=num_pages,
                            total=total, products=products)


def questions_of(*, user) -> QuerySet:
    """The rep's own questions, newest first."""
    return KnowledgeQuestion.objects.filter(asker=user).select_related("product", "entry").order_by("-created_at")


def questions_for_medical(*, status: str = "") -> QuerySet:
    """The questions medical answers: open ones first, oldest first among them."""
    qs = KnowledgeQuestion.objects.select_related("asker", "product", "answered_by", "entry")
    if status in QuestionStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by(Case(When(status=QuestionStatus.OPEN, then=Value(0)), default=Value(1)), "created_at")


def products_for_questions() -> QuerySet:
    return Product.objects.order_by("name")
