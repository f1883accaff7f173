"""A doctor who checked in at a meeting answers its survey on the phone and sees the thank-you with points."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.surveys.models import SurveyAnswer, SurveyResponse
from members.points.models import PointsRule
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.events.factories import check_in, make_doctor, make_event, make_survey

pytestmark = pytest.mark.e2e


def test_checked_in_doctor_answers_the_meeting_survey(live_asgi_server, browser_page):
    page = browser_page
    event = make_event(starts_at=timezone.now() - timedelta(hours=3))
    doctor = make_doctor(real_name="孙医生")
    check_in(event, doctor)
    survey = make_survey(event=event, title="会后满意度调查")
    questions = list(survey.questions.all())
    points = PointsRule.objects.get(code="meeting_survey").points
    sign_in(page, live_asgi_server, doctor)

    page.goto(f"{live_asgi_server}/events/surveys/{survey.pk}/")
    page.wait_for_selector("[data-testid=survey-form]")
    # Submitting without the required answers shows the errors next to the questions.
    page.click("[data-testid=survey-submit]")
    page.wait_for_selector("[data-testid=question-error]")
    assert SurveyResponse.objects.count() == 0

    single, multiple, rating, nps, text = (page.locator(f"fieldset[data-question='{q.pk}']") for q in questions)
    single.get_by_text("非常有帮助").click()
    multiple.get_by_text("GLP-1受体激动剂").click()
    multiple.get_by_text("低血糖管理").click()
    rating.locator("label", has_text="4").click()
    nps.locator("label", has_text="10").click()
    text.locator("textarea").fill("希望增加病例讨论时间")
    page.screenshot(path=str(ARTIFACTS / "event_survey_form.png"), full_page=True)
    page.click("[data-testid=survey-submit]")

    page.wait_for_selector("[data-testid=survey-thanks]")
    assert str(points) in page.inner_text("[data-testid=survey-points]")
    page.screenshot(path=str(ARTIFACTS / "event_survey_thanks.png"), full_page=True)
    response = SurveyResponse.objects.get()
    assert response.doctor == doctor
    answers = {a.question_id: a for a in SurveyAnswer.objects.filter(response=response)}
    assert answers[questions[0].pk].choices == ["非常有帮助"]
    assert answers[questions[1].pk].choices == ["GLP-1受体激动剂", "低血糖管理"]
    assert (answers[questions[2].pk].number, answers[questions[3].pk].number) == (4, 10)
    assert answers[questions[4].pk].text == "希望增加病例讨论时间"
