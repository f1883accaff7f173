"""Reads of surveys: who may answer, what a doctor sees, results with response rate and non-responders, the
Excel export. Results never link an anonymous survey's answers to a doctor."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engage.core.errors import DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from events.checkin.models import CheckIn
from events.surveys.models import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from members.accounts.models import User
from members.points.models import PointsTransaction


def survey_window_refusal(survey: Survey, now: datetime) -> DomainError | None:
    if survey.opens_at and now < survey.opens_at:
        return DomainError("survey_not_open", gettext_lazy("This survey is not open yet."))
    if survey.closes_at and now >= survey.closes_at:
        return DomainError("survey_closed", gettext_lazy("This survey is closed."))
    return None


def checked_in_doctor_ids(event_id: int) -> QuerySet:
    return (CheckIn.objects.filter(event_id=event_id, annulled_at__isnull=True)
            .values_list("registration__doctor_id", flat=True).distinct())


def survey_refusal(*, user, survey: Survey, now: datetime | None = None) -> DomainError | None:
    """Why `user` may not answer `survey` now (an error to raise or show), or None when they may."""
    if not can(user, Capability.ANSWER_SURVEYS):
        return PermissionDenied("not_a_doctor", gettext_lazy("Only doctors answer surveys."))
    if SurveyParticipation.objects.filter(survey=survey, doctor=user).exists():
        return DomainError("already_answered", gettext_lazy("You have already answered this survey. Thank you!"),
                           status=409)
    refusal = survey_window_refusal(survey, now or timezone.now())
    if refusal is not None:
        return refusal
    if survey.event_id and not CheckIn.objects.filter(event_id=survey.event_id, registration__doctor=user,
                                                      annulled_at__isnull=True).exists():
        return PermissionDenied("not_checked_in", gettext_lazy(
            "This survey is for the doctors who attended the meeting (checked in on site)."))
    return None


def access_survey(*, user, survey_id: int) -> Survey:
    """The survey as a doctor may see it: stand-alone ones to every doctor, a meeting's to its registered doctors;
    NotFound otherwise (no hint whether it exists)."""
    not_found = NotFound("survey_not_found", gettext_lazy("This survey does not exist."))
    survey = Survey.objects.select_related("event").prefetch_related("questions").filter(pk=survey_id).first()
    if survey is None or not can(user, Capability.ANSWER_SURVEYS):
        raise not_found
    if survey.event_id and not survey.event.registrations.filter(doctor=user).exists():
        raise not_found
    return survey


def surveys_for_doctor(*, user) -> list[tuple[Survey, DomainError | None]]:
    """Surveys the doctor can see that are open now or answered, with why each cannot be answered (or None)."""
    if not can(user, Capability.ANSWER_SURVEYS):
        return []
    now = timezone.now()
    surveys = (Survey.objects.select_related("event")
               .filter(Q(event__isnull=True) | Q(event__registrations__doctor=user))
               .filter(Q(opens_at__isnull=True) | Q(opens_at__lte=now))
               .annotate(answered=Exists(SurveyParticipation.objects.filter(survey=OuterRef("pk"), doctor=user)))
               .distinct().order_by("-created_at")[:50])
    return [(survey, survey_refusal(user=user, survey=survey, now=now)) for survey in surveys]


def survey_points_earned(*, user, survey: Survey) -> int:
    return PointsTransaction.objects.filter(
        account__user=user, kind="earn", source_type="events.survey", source_id=str(survey.pk),
    ).aggregate(total=Sum("amount"))["total"] or 0


@dataclass
class OptionCount:
    label: str
    count: int
    percent: int  # of the answers to the question


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int
    options: list[OptionCount] = field(default_factory=list)
    average: float | None = None
    nps: int | None = None  # promoters % − detractors %
    texts: list[str] = field(default_factory=list)


@dataclass
class SurveyResults:
    survey: Survey
    responses: int
    attendees: int | None  # checked-in doctors of the meeting; None for a stand-alone survey
    questions: list[QuestionResult]
    non_responders: list[User] | None  # None when the survey has no defined audience

    @property
    def response_rate(self) -> float | None:
        if not self.attendees:
            return None
        return self.responses / self.attendees

    @property
    def response_rate_percent(self) -> int | None:
        rate = self.response_rate
        return None if rate is None else round(rate * 100)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _question_result(question: SurveyQuestion, rows: list[tuple]) -> QuestionResult:
    result = QuestionResult(question=question, answered=len(rows))
    kind = question.kind
    if kind in (SurveyQuestion.Kind.SINGLE, SurveyQuestion.Kind.MULTIPLE):
        counts = Counter(choice for choices, _number, _text in rows for choice in (choices or []))
        labels = question.choice_list + sorted(set(counts) - set(question.choice_list))  # retired choices last
        result.options = [OptionCount(label, counts[label], _percent(counts[label], len(rows))) for label in labels]
    elif kind in (SurveyQuestion.Kind.RATING, SurveyQuestion.Kind.NPS):
        numbers = [number for _choices, number, _text in rows if number is not None]
        low, high = (1, 5) if kind == SurveyQuestion.Kind.RATING else (0, 10)
        counts = Counter(numbers)
        result.options = [OptionCount(str(n), counts[n], _percent(counts[n], len(numbers)))
                          for n in range(low, high + 1)]
        result.average = round(sum(numbers) / len(numbers), 2) if numbers else None
        if kind == SurveyQuestion.Kind.NPS and numbers:
            promoters = sum(1 for n in numbers if n >= 9)
            detractors = sum(1 for n in numbers if n <= 6)
            result.nps = round(100 * (promoters - detractors) / len(numbers))
    else:
        result.texts = [text for _choices, _number, text in rows if text]
    return result


def survey_results(*, survey: Survey) -> SurveyResults:
    questions = list(survey.questions.all())
    rows: dict[int, list[tuple]] = {question.pk: [] for question in questions}
    answers = (SurveyAnswer.objects.filter(response__survey=survey)
               .order_by("response__submitted_on", "response_id")
               .values_list("question_id", "choices", "number", "text"))
    for question_id, choices, number, text in answers.iterator(chunk_size=2000):
        rows.setdefault(question_id, []).append((choices, number, text))
    attendees = non_responders = None
    if survey.event_id:
        attending = checked_in_doctor_ids(survey.event_id)
        attendees = attending.count()
        answered = SurveyParticipation.objects.filter(survey=survey).values("doctor_id")
        non_responders = list(User.objects.filter(pk__in=attending).exclude(pk__in=answered)
                              .select_related("doctor_profile__hospital").order_by("pk"))
    return SurveyResults(
        survey=survey, responses=SurveyResponse.objects.filter(survey=survey).count(), attendees=attendees,
        questions=[_question_result(question, rows[question.pk]) for question in questions],
        non_responders=non_responders,
    )


def surveys_with_counts() -> QuerySet[Survey]:
    return Survey.objects.select_related("event").annotate(response_count=Count("responses"))
