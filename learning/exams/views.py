"""Phone pages for taking an exam: the exam's start page, the attempt (answers saved on change through the API by
static/js/learning-exam.js; the form submits every answer too, so it works without script), the result."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from engage.core.errors import DomainError, NotFound, PermissionDenied
from learning.exams.selectors import access_attempt, access_exam, attempt_questions, exam_standing, review_visible
from learning.exams.services import attempt_answer, attempt_start, attempt_submit

MAX_FIELD = 500


def _exam(request, exam_id: int):
    try:
        return access_exam(user=request.user, exam_id=exam_id)
    except NotFound:
        raise Http404 from None
    except PermissionDenied as error:
        raise DjangoPermissionDenied(str(error.message)) from None


def _attempt(request, attempt_id: int):
    try:
        return access_attempt(user=request.user, attempt_id=attempt_id)
    except NotFound:
        raise Http404 from None


@require_GET
@login_required
@never_cache
def exam_detail(request, exam_id: int):
    exam = _exam(request, exam_id)
    return TemplateResponse(request, "learning/exams/exam.html",
                            {"exam": exam, "standing": exam_standing(user=request.user, exam=exam)})


@require_POST
@login_required
def exam_start(request, exam_id: int):
    exam = _exam(request, exam_id)
    try:
        attempt = attempt_start(user=request.user, exam_id=exam.pk)
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("learning:exam", exam_id=exam.pk)
    return redirect("learning:attempt", attempt_id=attempt.pk)


@require_GET
@login_required
@never_cache
def attempt_page(request, attempt_id: int):
    attempt = _attempt(request, attempt_id)
    if not attempt.is_open:
        return redirect("learning:attempt_result", attempt_id=attempt.pk)
    return TemplateResponse(request, "learning/exams/attempt.html",
                            {"attempt": attempt, "exam": attempt.exam, "questions": attempt_questions(attempt=attempt)})


def _form_answer(request, question):
    name = f"q{question.position}"
    if question.is_multiple:
        values = [value[:MAX_FIELD] for value in request.POST.getlist(name)[:10]]
        return sorted(values) or None
    value = request.POST.get(name)
    if value is None:
        return None
    return value[:MAX_FIELD] if question.is_fill_in else value[:10]


@require_POST
@login_required
def attempt_submit_view(request, attempt_id: int):
    """Saves what the form holds (answers the script could not save yet), then submits."""
    attempt = _attempt(request, attempt_id)
    if attempt.is_open:
        for question in attempt_questions(attempt=attempt):
            given = _form_answer(request, question)
            if given is not None and given != question.answer:
                try:
                    attempt_answer(user=request.user, attempt_id=attempt.pk, position=question.position,
                                   answer=given, seq=question.answer_seq)
                except DomainError as error:
                    if error.code != "invalid_answer":
                        break  # past the deadline or closed: submit what was saved
        attempt = attempt_submit(user=request.user, attempt_id=attempt.pk)
    return redirect("learning:attempt_result", attempt_id=attempt.pk)


@require_GET
@login_required
@never_cache
def attempt_result(request, attempt_id: int):
    attempt = _attempt(request, attempt_id)
    if attempt.is_open:
        return redirect("learning:attempt", attempt_id=attempt.pk)
    review = review_visible(attempt)
    return TemplateResponse(request, "learning/exams/result.html", {
        "attempt": attempt, "exam": attempt.exam, "review": review,
        "questions": attempt_questions(attempt=attempt, review=True) if review else [],
        "courses": list(attempt.exam.final_of_courses.live()),
    })
