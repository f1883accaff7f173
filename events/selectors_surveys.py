"""Reads of surveys: who may answer, what a doctor sees, results with response rate and non-responders, the
Excel export. Results never link an anonymous survey's answers to a doctor."""

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engage.errors import DomainError, NotFound, PermissionDenied
from engage.roles import Role, has_role
from events.models import CheckIn, Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from members.models import PointsTransaction, User

# --------------------------------------------------------------------------------------------------------------
# Who may answer


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
    if not has_role(user, Role.DOCTOR):
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
    if survey is None or not has_role(user, Role.DOCTOR):
        raise not_found
    if survey.event_id and not survey.event.registrations.filter(doctor=user).exists():
        raise not_found
    return survey


def surveys_for_doctor(*, user) -> list[tuple[Survey, DomainError | None]]:
    """Surveys the doctor can see that are open now or answered, with why each cannot be answered (or None)."""
    if not has_role(user, Role.DOCTOR):
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


# --------------------------------------------------------------------------------------------------------------
# Results


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


def doctor_label(user) -> str:
    profile = getattr(user, "doctor_profile", None)
    return profile.real_name if profile is not None else (user.display_name or user.username)


def survey_results_xlsx(results: SurveyResults) -> bytes:
    """The results as a workbook: a summary sheet, one row per option per question, every response's answers
    (with the doctor only for named surveys) and, for meeting surveys, who has not answered yet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    survey = results.survey
    book = Workbook()
    bold = Font(bold=True)
    summary = book.active
    summary.title = _("Summary")[:31]
    summary.append([_("Survey"), survey.title])
    summary.append([_("Meeting"), survey.event.title if survey.event_id else _("Stand-alone")])
    summary.append([_("Anonymous"), _("Yes") if survey.anonymous else _("No")])
    summary.append([_("Responses"), results.responses])
    if results.attendees is not None:
        summary.append([_("Checked-in attendees"), results.attendees])
        summary.append([_("Response rate"), f"{results.response_rate_percent}%" if results.attendees else "–"])
    summary.append([])
    summary.append([_("Question"), _("Kind"), _("Option"), _("Count"), _("Percent"), _("Average"), _("NPS")])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for result in results.questions:
        question = result.question
        if not result.options:
            summary.append([question.text, question.get_kind_display(), "", result.answered, "", "", ""])
        for option in result.options:
            summary.append([question.text, question.get_kind_display(), option.label, option.count,
                            option.percent / 100, result.average, result.nps])
    sheet = book.create_sheet(_("Responses")[:31])
    questions = [result.question for result in results.questions]
    heading = [_("Submitted")] + ([] if survey.anonymous else [_("Doctor")]) + [q.text[:100] for q in questions]
    sheet.append(heading)
    for cell in sheet[1]:
        cell.font = bold
    responses = (SurveyResponse.objects.filter(survey=survey).select_related("doctor__doctor_profile")
                 .prefetch_related("answers").order_by("submitted_on", "id"))
    for response in responses.iterator(chunk_size=500):
        by_question = {answer.question_id: answer for answer in response.answers.all()}
        row = [response.submitted_on]
        if not survey.anonymous:
            row.append(doctor_label(response.doctor) if response.doctor_id else "")
        for question in questions:
            answer = by_question.get(question.pk)
            if answer is None:
                row.append("")
            elif answer.choices:
                row.append("; ".join(answer.choices))
            elif answer.number is not None:
                row.append(answer.number)
            else:
                row.append(answer.text)
        sheet.append(row)
    if results.non_responders is not None:
        missing = book.create_sheet(_("Not answered")[:31])
        missing.append([_("Doctor"), _("Hospital")])
        for user in results.non_responders:
            profile = getattr(user, "doctor_profile", None)
            missing.append([doctor_label(user), profile.hospital.name if profile else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
