"""Surveys: saving what the builder made, and doctors' submissions.

- One submission per doctor per survey: the SurveyParticipation unique constraint decides, also under
  concurrency (the second insert waits for the first to commit and fails); the loser gets `already_answered`.
- Anonymous surveys: the response carries no doctor and only the date; SurveyParticipation says who has answered
  but not which response is theirs.
- Meeting surveys may be answered only by doctors with a (not annulled) check-in at the meeting: the response rate
  is counted against them, and a no-show answering a post-meeting survey would be fake evidence.
  Stand-alone surveys are open to every doctor member.
- Completing a meeting survey earns the `meeting_survey` points rule once (a stand-alone survey `survey_answer`)
  and records a SURVEY_ANSWERED engagement event.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound
from engage.inbox.services import notification_send
from events.surveys.models import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from events.surveys.selectors import checked_in_doctor_ids, survey_refusal, survey_window_refusal
from members.accounts.models import User
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.points.selectors import local_today
from members.points.services import points_award

MAX_TEXT = 2000
MAX_CHOICES = 30
MAX_CHOICE_LENGTH = 200
MAX_QUESTIONS = 100
CHOICE_KINDS = {SurveyQuestion.Kind.SINGLE, SurveyQuestion.Kind.MULTIPLE}
SCALES = {SurveyQuestion.Kind.RATING: (1, 5), SurveyQuestion.Kind.NPS: (0, 10)}
MEETING_RULE = "meeting_survey"
STANDALONE_RULE = "survey_answer"


def survey_questions_check(questions: list[SurveyQuestion]) -> None:
    """Raises DomainError unless every question can be answered: choice questions need two distinct choices."""
    if not questions:
        raise DomainError("survey_no_questions", _("Add at least one question."))
    if len(questions) > MAX_QUESTIONS:
        raise DomainError("survey_too_many_questions", _("A survey has at most %(n)d questions.")
                          % {"n": MAX_QUESTIONS})
    for number, question in enumerate(questions, start=1):
        if not (question.text or "").strip():
            raise DomainError("question_empty", _("Question %(n)d has no text.") % {"n": number})
        if question.kind not in SurveyQuestion.Kind.values:
            raise DomainError("question_kind", _("Question %(n)d has no valid kind.") % {"n": number})
        choices = question.choice_list
        if question.kind in CHOICE_KINDS:
            if len(set(choices)) < 2 or len(set(choices)) != len(choices):
                raise DomainError("question_choices", _(
                    "Question %(n)d (“%(text)s”) needs at least two different choices, one per line.")
                    % {"n": number, "text": question.text[:50]})
            if len(choices) > MAX_CHOICES or max(len(choice) for choice in choices) > MAX_CHOICE_LENGTH:
                raise DomainError("question_choices", _(
                    "Question %(n)d has too many or too long choices (at most %(count)d of %(length)d characters).")
                    % {"n": number, "count": MAX_CHOICES, "length": MAX_CHOICE_LENGTH})
        elif choices:
            raise DomainError("question_choices", _(
                "Question %(n)d (“%(text)s”) is not a choice question: leave its choices empty.")
                % {"n": number, "text": question.text[:50]})


def _locked_changes(survey: Survey, questions: list[SurveyQuestion]) -> None:
    """Once answered, a survey keeps its anonymity, and answered questions keep existing and keep their kind."""
    if survey.pk is None or not SurveyResponse.objects.filter(survey_id=survey.pk).exists():
        return
    stored = Survey.objects.get(pk=survey.pk)
    if stored.anonymous != survey.anonymous:
        raise DomainError("survey_anonymity_locked", _(
            "This survey already has responses: it can no longer change between anonymous and named."))
    kinds = {question.pk: question.kind for question in questions if question.pk}
    answered = SurveyQuestion.objects.filter(survey_id=survey.pk, answers__isnull=False).distinct()
    for question in answered:
        if question.pk not in kinds:
            raise DomainError("question_has_answers", _(
                "The question “%(text)s” already has answers and cannot be removed.") % {"text": question.text[:50]})
        if kinds[question.pk] != question.kind:
            raise DomainError("question_has_answers", _(
                "The question “%(text)s” already has answers: its kind cannot change.") % {"text": question.text[:50]})


def survey_save(*, survey: Survey, actor) -> Survey:
    """Saves a survey with its questions (in memory on the instance, as the admin form leaves them); audited.

    Refused: no questions, choice questions without two different choices, a close time not after the open
    time, and changes that would corrupt answers already given."""
    questions = list(survey.questions.all())
    survey.title = (survey.title or "").strip()
    if not survey.title:
        raise DomainError("survey_title", _("Give the survey a title."))
    survey_questions_check(questions)
    if survey.opens_at and survey.closes_at and survey.closes_at <= survey.opens_at:
        raise DomainError("survey_window", _("The survey must close after it opens."))
    with transaction.atomic():
        _locked_changes(survey, questions)
        created = survey.pk is None
        if created:
            survey.created_by = actor if getattr(actor, "is_authenticated", False) else None
        survey.save()
        audit_log(actor=actor, action="events.survey_create" if created else "events.survey_update", obj=survey,
                  after={"event": survey.event_id, "anonymous": survey.anonymous,
                         "opens_at": survey.opens_at.isoformat() if survey.opens_at else None,
                         "closes_at": survey.closes_at.isoformat() if survey.closes_at else None,
                         "questions": [[q.kind, q.text, q.required] for q in questions]})
    return survey


@dataclass(frozen=True)
class SurveySubmission:
    response: SurveyResponse
    points: int


def _parse_answer(question: SurveyQuestion, raw: list[str]) -> tuple[SurveyAnswer | None, str | None]:
    """(answer, None) or (None, error message); (None, None) for an optional question left empty."""
    values = [value.strip() for value in raw if isinstance(value, str) and value.strip()]
    if not values:
        return None, (str(_("This question is required.")) if question.required else None)
    if question.kind in CHOICE_KINDS:
        choices = question.choice_list
        picked: list[str] = []
        for value in values:
            if not value.isdigit() or len(value) > 3 or int(value) >= len(choices):
                return None, str(_("Choose one of the options."))
            if choices[int(value)] not in picked:
                picked.append(choices[int(value)])
        if question.kind == SurveyQuestion.Kind.SINGLE and len(picked) != 1:
            return None, str(_("Choose exactly one option."))
        return SurveyAnswer(question=question, choices=picked), None
    if question.kind in SCALES:
        low, high = SCALES[question.kind]
        if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 2 or not low <= int(values[0]) <= high:
            return None, str(_("Choose a number from %(low)d to %(high)d.") % {"low": low, "high": high})
        return SurveyAnswer(question=question, number=int(values[0])), None
    text = "\n".join(values)
    if len(text) > MAX_TEXT:
        return None, str(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    return SurveyAnswer(question=question, text=text), None


def survey_answers_parse(*, survey: Survey, answers: Mapping[str, list[str]]) -> list[SurveyAnswer]:
    """Parses raw form values keyed by question id (as strings); raises `invalid_answers` with per-question
    messages in `errors` ({question id: message})."""
    parsed, errors = [], {}
    for question in survey.questions.all():
        raw = answers.get(str(question.pk), [])
        answer, error = _parse_answer(question, list(raw) if isinstance(raw, list | tuple) else [raw])
        if error:
            errors[str(question.pk)] = error
        elif answer is not None:
            parsed.append(answer)
    if errors:
        raise DomainError("invalid_answers", _("Some answers are missing or not valid."), errors=errors)
    return parsed


def survey_submit(*, survey_id: int, doctor, answers: Mapping[str, list[str]]) -> SurveySubmission:
    """Records `doctor`'s answers to a survey, once; awards the survey's points rule and the engagement event.

    Raises NotFound, `survey_not_open` / `survey_closed` / `not_checked_in` / `not_a_doctor` (403 or 400),
    `invalid_answers` (with per-question errors) or `already_answered` (409, also for concurrent doubles)."""
    survey = Survey.objects.select_related("event").prefetch_related("questions").filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("survey_not_found", _("This survey does not exist."))
    parsed = survey_answers_parse(survey=survey, answers=answers)
    now = timezone.now()
    today = local_today(now)
    with transaction.atomic():
        refusal = survey_refusal(user=doctor, survey=survey, now=now)
        if refusal is not None:
            raise refusal
        try:
            with transaction.atomic():
                SurveyParticipation.objects.create(survey=survey, doctor=doctor, answered_on=today)
        except IntegrityError:
            raise Conflict("already_answered", _("You have already answered this survey. Thank you!")) from None
        response = SurveyResponse.objects.create(survey=survey, doctor=None if survey.anonymous else doctor,
                                                 submitted_on=today)
        for answer in parsed:
            answer.response = response
        SurveyAnswer.objects.bulk_create(parsed)
        rule = MEETING_RULE if survey.event_id else STANDALONE_RULE
        try:
            points = points_award(member=doctor, rule_code=rule, source=survey).points
        except NotFound:
            points = 0  # the rule was deleted: the answers count, nothing is paid
        engagement_record(doctor=doctor, kind=EngagementKind.SURVEY_ANSWERED,
                          source_key=f"survey:{survey.pk}:{doctor.pk}", obj=survey,
                          therapy_area=survey.event.therapy_area if survey.event_id else None,
                          metadata={"event": survey.event_id, "anonymous": survey.anonymous})
    return SurveySubmission(response=response, points=points)


SURVEY_NOTIFICATION_KIND = "event_survey"


def survey_remind(*, survey_id: int, actor) -> int:
    """Sends an in-app notification with the survey's link to each checked-in attendee who has not answered;
    at most one per doctor per survey per day (notification key). Only for open meeting surveys; audited.
    Returns how many doctors were notified now."""
    survey = Survey.objects.select_related("event").filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("survey_not_found", _("This survey does not exist."))
    if not survey.event_id:
        raise DomainError("survey_not_for_meeting", _("Only a meeting's survey has attendees to remind."))
    refusal = survey_window_refusal(survey, timezone.now())
    if refusal is not None:
        raise refusal
    answered = SurveyParticipation.objects.filter(survey=survey).values("doctor_id")
    doctors = User.objects.filter(pk__in=checked_in_doctor_ids(survey.event_id)).exclude(pk__in=answered)
    url = reverse("events:survey_answer", args=[survey.pk])
    day = local_today()
    sent = 0
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        for doctor in doctors.order_by("pk"):
            _notification, created = notification_send(
                user=doctor, kind=SURVEY_NOTIFICATION_KIND, url=url, key=f"survey:{survey.pk}:{doctor.pk}:{day}",
                title=gettext("Please tell us what you thought: %(title)s") % {"title": survey.title},
                body=gettext("Thank you for attending %(meeting)s. The survey takes about two minutes.")
                % {"meeting": survey.event.title})
            sent += int(created)
        audit_log(actor=actor, action="events.survey_remind", obj=survey, after={"notified": sent})
    return sent
