"""Reps' pages of the knowledge base outside the page tree: asking medical a question (from any page) and the
rep's own questions with medical's answers. The search itself is the KnowledgeIndexPage."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from engage.core.errors import DomainError
from learning.knowledge import selectors, services


def _private(response):
    response["Cache-Control"] = "private, no-cache"
    return response


def _local_path(request, value: str) -> str:
    value = (value or "")[:services.MAX_ASKED_FROM_LENGTH]
    if value.startswith("/") and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                                 require_https=request.is_secure()):
        return value
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def ask_medical(request):
    """GET: the question form (`?from=` the page the rep came from); POST: send it, then back to that page."""
    if not selectors.can_ask_medical(request.user):
        error = DomainError("ask_medical_not_allowed", _("Only sales reps can send questions to medical."),
                            status=403)
        return _private(TemplateResponse(request, "learning/knowledge/not_allowed.html", {"error": error},
                                         status=403))
    data = request.POST if request.method == "POST" else request.GET
    asked_from = _local_path(request, data.get("from", ""))
    product_raw = (data.get("product") or "").strip()
    context = {"asked_from": asked_from, "products": selectors.products_for_questions(),
               "question": data.get("question", "") if request.method == "POST" else "",
               "product_id": int(product_raw) if product_raw.isdigit() and len(product_raw) < 10 else None,
               "client_token": data.get("client_token") or uuid.uuid4()}
    if request.method == "GET":
        return _private(TemplateResponse(request, "learning/knowledge/ask.html", context))
    if product_raw and context["product_id"] is None:
        context["error"] = _("No such product.")
        return _private(TemplateResponse(request, "learning/knowledge/ask.html", context, status=400))
    try:
        services.question_ask(actor=request.user, question=data.get("question", ""),
                              product_id=context["product_id"], asked_from=asked_from,
                              client_token=data.get("client_token"))
    except DomainError as error:
        context["error"] = error.message
        return _private(TemplateResponse(request, "learning/knowledge/ask.html", context, status=error.status))
    messages.success(request, _("Your question was sent to medical. You will find the answer in your inbox."))
    return HttpResponseRedirect(asked_from or reverse("learning:knowledge_questions"))


@login_required
@require_GET
def my_questions(request):
    if not selectors.can_ask_medical(request.user):
        error = DomainError("ask_medical_not_allowed", _("Only sales reps can send questions to medical."),
                            status=403)
        return _private(TemplateResponse(request, "learning/knowledge/not_allowed.html", {"error": error},
                                         status=403))
    return _private(TemplateResponse(request, "learning/knowledge/my_questions.html",
                                     {"questions": selectors.questions_of(user=request.user)[:200]}))
