"""Two (and ten) submissions of the same doctor at the same moment: exactly one response, points once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.core.errors import DomainError
from events.surveys.models import SurveyAnswer, SurveyParticipation, SurveyResponse
from events.surveys.services import survey_submit
from members.points.models import PointsTransaction
from tests.events.factories import answers_for, check_in, make_doctor, make_event, make_survey
from tests.race import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("threads", [2, 10])
@pytest.mark.parametrize("anonymous", [False, True])
def test_concurrent_double_submission_stores_one_response(threads, anonymous):
    event = make_event(starts_at=timezone.now() - timedelta(hours=3))
    doctor = make_doctor()
    check_in(event, doctor)
    survey = make_survey(event=event, anonymous=anonymous)
    answers = answers_for(survey)

    results = race(threads, lambda i: survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers))

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == threads - 1
    assert all(isinstance(e, DomainError) and e.code == "already_answered" and e.status == 409 for e in errors), errors
    assert SurveyParticipation.objects.filter(survey=survey).count() == 1
    assert SurveyResponse.objects.filter(survey=survey).count() == 1
    assert SurveyAnswer.objects.filter(response__survey=survey).count() == 5
    assert PointsTransaction.objects.filter(account__user=doctor, rule__code="meeting_survey").count() == 1
