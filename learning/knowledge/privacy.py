"""Questions to medical in the personal data export. On closing they stay under the pseudonym: they are the
record that product questions were answered by medical, not by the rep."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.knowledge.models import KnowledgeQuestion


@personal_data(section="medical_questions", model="learning.KnowledgeQuestion", user_fields=("asker",), order=90,
               closing=Closing.RETAIN,
               reason="medical information requests are kept as evidence that product questions were answered "
                      "by medical staff")
def medical_questions_export(user) -> list[dict]:
    return [
        {"question": q.question, "product": q.product.name if q.product else None, "asked_from": q.asked_from,
         "status": q.status, "answer": q.answer, "asked_at": iso(q.created_at), "answered_at": iso(q.answered_at)}
        for q in KnowledgeQuestion.objects.filter(asker=user).select_related("product").order_by("created_at", "id")
    ]


@personal_data(section="medical_answers_given", model="learning.KnowledgeQuestion", user_fields=("answered_by",),
               order=91, closing=Closing.RETAIN,
               reason="medical staff answering in their role; the answer belongs to the rep's request")
def medical_answers_export(user) -> list[dict]:
    return [{"question_id": q.pk, "answered_at": iso(q.answered_at)}
            for q in KnowledgeQuestion.objects.filter(answered_by=user).order_by("answered_at", "id")]
