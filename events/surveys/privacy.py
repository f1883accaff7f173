"""Survey answers (non-anonymous surveys) and participations in the personal data export. On closing the
responses stay for the survey's totals, under the pseudonym, with the free-text answers erased."""

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from events.surveys.models import SurveyAnswer, SurveyParticipation, SurveyResponse


def _erase_free_text(account: ClosingAccount) -> None:
    SurveyAnswer.objects.filter(response__doctor=account.user).exclude(text="").update(text="")


@personal_data(section="survey_answers", model="events.SurveyResponse", user_fields=("doctor",), order=66,
               closing=Closing.PSEUDONYMISE, close=_erase_free_text,
               reason="the survey's results count every response (sponsored surveys may have paid points)")
def survey_answers_export(user) -> list[dict]:
    """Anonymous surveys keep no link from the person to their response: those answers are nobody's."""
    responses = (SurveyResponse.objects.filter(doctor=user).select_related("survey")
                 .prefetch_related("answers__question").order_by("submitted_on", "id"))
    return [
        {"survey": r.survey.title, "submitted_on": iso(r.submitted_on),
         "answers": [{"question": a.question.text, "choices": a.choices, "number": a.number, "text": a.text}
                     for a in sorted(r.answers.all(), key=lambda a: (a.question.sort_order, a.question.pk))]}
        for r in responses
    ]


@personal_data(section="survey_participations", model="events.SurveyParticipation", user_fields=("doctor",),
               order=67, closing=Closing.RETAIN, reason="one submission per doctor: who has answered which survey")
def survey_participations_export(user) -> list[dict]:
    return [{"survey": p.survey.title, "anonymous": p.survey.anonymous, "answered_on": iso(p.answered_on)}
            for p in SurveyParticipation.objects.filter(doctor=user).select_related("survey").order_by("id")]
