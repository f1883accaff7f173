"""Doctors answer surveys on the phone: the list of their surveys, the answer page and the thank-you page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engage.core.errors import DomainError, NotFound
from events.surveys.selectors import access_survey, survey_points_earned, survey_refusal, surveys_for_doctor
from events.surveys.services import survey_submit


def _survey_or_404(request, survey_id: int):
    try:
        return access_survey(user=request.user, survey_id=survey_id)
    except NotFound:
        raise Http404 from None


@login_required
@never_cache
@require_GET
def survey_list(request):
    return render(request, "events/surveys/list.html", {"surveys": surveys_for_doctor(user=request.user)})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def survey_answer(request, survey_id: int):
    survey = _survey_or_404(request, survey_id)
    errors, values = {}, {}
    if request.method == "POST":
        values = {key[2:]: request.POST.getlist(key) for key in request.POST if key.startswith("q_")}
        try:
            survey_submit(survey_id=survey.pk, doctor=request.user, answers=values)
        except DomainError as exc:
            if exc.code == "already_answered":
                messages.info(request, str(exc.message))
                return redirect("events:survey_thanks", survey_id=survey.pk)
            errors = exc.details.get("errors", {})
            messages.error(request, str(exc.message))
        else:
            return redirect("events:survey_thanks", survey_id=survey.pk)
    refusal = survey_refusal(user=request.user, survey=survey)
    if refusal is not None and refusal.code == "already_answered" and request.method == "GET":
        return redirect("events:survey_thanks", survey_id=survey.pk)
    questions = [
        {"question": q, "error": errors.get(str(q.pk)), "values": values.get(str(q.pk), []),
         "choices": [(str(i), label) for i, label in enumerate(q.choice_list)],
         "scale": [str(n) for n in (range(1, 6) if q.kind == "rating" else range(11))]}
        for q in survey.questions.all()
    ]
    return render(request, "events/surveys/answer.html", {
        "survey": survey, "questions": questions, "refusal": refusal,
    }, status=400 if errors else 200)


@login_required
@never_cache
@require_GET
def survey_thanks(request, survey_id: int):
    survey = _survey_or_404(request, survey_id)
    refusal = survey_refusal(user=request.user, survey=survey)
    if refusal is None or refusal.code != "already_answered":
        return redirect("events:survey_answer", survey_id=survey.pk)
    return render(request, "events/surveys/thanks.html", {
        "survey": survey, "points": survey_points_earned(user=request.user, survey=survey),
    })
