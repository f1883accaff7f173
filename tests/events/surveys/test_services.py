"""Surveys: who may answer, validation, one submission per doctor, anonymity, points once, the builder."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from events.surveys.models import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from events.surveys.services import survey_save, survey_submit
from members.engagement.models import EngagementEvent
from members.points.models import PointsRule, PointsTransaction
from tests.events.factories import (
    answers_for,
    check_in,
    make_doctor,
    make_event,
    make_registration,
    make_rep,
    make_staff,
    make_survey,
)

pytestmark = pytest.mark.django_db


def refused(code: str, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        survey_submit(**kwargs)
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


@pytest.fixture
def attended():
    """A meeting, its survey and a doctor who checked in."""
    event = make_event(starts_at=timezone.now() - timedelta(hours=4))
    doctor = make_doctor()
    check_in(event, doctor)
    return event, make_survey(event=event), doctor


def test_points_rules_renamed_and_created_by_migration():
    assert PointsRule.objects.filter(code="attend_meeting").exists()
    assert not PointsRule.objects.filter(code="meeting_attend").exists()
    assert PointsRule.objects.get(code="meeting_survey").points > 0


def test_checked_in_doctor_answers_named_survey(attended):
    _event, survey, doctor = attended
    submission = survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    response = SurveyResponse.objects.get()
    assert response == submission.response and response.doctor == doctor
    assert SurveyParticipation.objects.get().doctor == doctor
    by_kind = {a.question.kind: a for a in response.answers.select_related("question")}
    assert by_kind["single"].choices == ["非常有帮助"]
    assert by_kind["multiple"].choices == ["GLP-1受体激动剂", "低血糖管理"]
    assert (by_kind["rating"].number, by_kind["nps"].number, by_kind["text"].text) == (5, 9, "讲得很好")
    rule = PointsRule.objects.get(code="meeting_survey")
    assert submission.points == rule.points
    earned = PointsTransaction.objects.get(account__user=doctor, rule=rule)
    assert (earned.source_type, earned.source_id) == ("events.survey", str(survey.pk))
    assert EngagementEvent.objects.filter(doctor=doctor, kind="survey_answered", object_id=str(survey.pk)).count() == 1


def test_double_submission_is_refused_and_pays_once(attended):
    _event, survey, doctor = attended
    survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    error = refused("already_answered", survey_id=survey.pk, doctor=doctor, answers=answers_for(survey, q2=["1"]))
    assert error.status == 409
    assert SurveyResponse.objects.count() == 1 and SurveyParticipation.objects.count() == 1
    assert PointsTransaction.objects.filter(account__user=doctor, rule__code="meeting_survey").count() == 1
    assert SurveyAnswer.objects.filter(question__kind="rating").get().number == 5


def test_anonymous_response_keeps_no_link_to_the_doctor():
    event = make_event(starts_at=timezone.now() - timedelta(hours=4))
    survey = make_survey(event=event, anonymous=True)
    doctor = make_doctor()
    check_in(event, doctor)
    survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    response = SurveyResponse.objects.get()
    assert response.doctor_id is None
    assert response.submitted_on == date.today() or abs((response.submitted_on - date.today()).days) <= 1
    row = SurveyResponse.objects.values().get()
    assert set(row) == {"id", "survey_id", "doctor_id", "submitted_on"} and row["doctor_id"] is None
    assert not isinstance(row["submitted_on"], type(timezone.now()))  # a date, no time of day
    for answer in SurveyAnswer.objects.values():
        assert set(answer) == {"id", "response_id", "question_id", "choices", "number", "text"}
    # Participation says that the doctor answered, and nothing about which response is theirs.
    participation = SurveyParticipation.objects.values().get()
    assert set(participation) == {"id", "survey_id", "doctor_id", "answered_on"}
    assert participation["doctor_id"] == doctor.pk
    assert str(response.pk) not in str(participation)
    # Points are paid for the survey, not for the response.
    assert PointsTransaction.objects.get(account__user=doctor, rule__code="meeting_survey").source_id == str(survey.pk)


def test_required_questions_and_malformed_answers(attended):
    _event, survey, doctor = attended
    questions = list(survey.questions.all())
    error = refused("invalid_answers", survey_id=survey.pk, doctor=doctor, answers={})
    required = {str(q.pk) for q in questions if q.required}
    assert set(error.details["errors"]) == required
    bad = {
        "q0": ["7"], "q2": ["6"], "q3": ["-1"],
    }
    error = refused("invalid_answers", survey_id=survey.pk, doctor=doctor, answers=answers_for(survey, **bad))
    assert set(error.details["errors"]) == {str(questions[i].pk) for i in (0, 2, 3)}
    for q0 in (["0", "1"], ["x"], ["00000000000000000000001"], ["' OR 1=1 --"]):
        refused("invalid_answers", survey_id=survey.pk, doctor=doctor, answers=answers_for(survey, q0=q0))
    refused("invalid_answers", survey_id=survey.pk, doctor=doctor, answers=answers_for(survey, q3=["ten"]))
    refused("invalid_answers", survey_id=survey.pk, doctor=doctor, answers=answers_for(survey, q4=["长" * 2001]))
    assert SurveyResponse.objects.count() == 0 and SurveyParticipation.objects.count() == 0
    # Optional questions may stay empty; unknown keys are ignored.
    answers = answers_for(survey, q1=[], q4=[" "])
    answers["999999"] = ["junk"]
    survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers)
    assert SurveyAnswer.objects.count() == 3


def test_closed_and_not_yet_open_surveys(attended):
    event, _survey, doctor = attended
    now = timezone.now()
    closed = make_survey(event=event, closes_at=now - timedelta(minutes=1))
    refused("survey_closed", survey_id=closed.pk, doctor=doctor, answers=answers_for(closed))
    later = make_survey(event=event, opens_at=now + timedelta(hours=1))
    refused("survey_not_open", survey_id=later.pk, doctor=doctor, answers=answers_for(later))
    window = make_survey(event=event, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=1))
    assert survey_submit(survey_id=window.pk, doctor=doctor, answers=answers_for(window)).response


def test_only_checked_in_doctors_answer_a_meeting_survey(attended):
    event, survey, _doctor = attended
    registered = make_doctor()
    make_registration(event, registered)
    refused("not_checked_in", survey_id=survey.pk, doctor=registered, answers=answers_for(survey))
    annulled = make_doctor()
    checkin = check_in(event, annulled)
    checkin.annulled_at, checkin.annul_reason = timezone.now(), "扫错了"
    checkin.save()
    refused("not_checked_in", survey_id=survey.pk, doctor=annulled, answers=answers_for(survey))
    other_meeting = make_event()
    elsewhere = make_doctor()
    check_in(other_meeting, elsewhere)
    refused("not_checked_in", survey_id=survey.pk, doctor=elsewhere, answers=answers_for(survey))
    refused("not_a_doctor", survey_id=survey.pk, doctor=make_rep(), answers=answers_for(survey))
    refused("survey_not_found", survey_id=987654, doctor=registered, answers={})
    assert SurveyResponse.objects.count() == 0


def test_standalone_survey_is_open_to_doctors_and_pays_the_survey_rule():
    survey = make_survey(title="用药习惯调研")
    doctor = make_doctor()
    submission = survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    assert submission.points == PointsRule.objects.get(code="survey_answer").points
    assert not PointsTransaction.objects.filter(rule__code="meeting_survey").exists()


def test_points_once_per_survey_but_again_for_another_meeting(attended):
    _event, survey, doctor = attended
    survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    second_meeting = make_event(starts_at=timezone.now() - timedelta(hours=2))
    check_in(second_meeting, doctor)
    second = make_survey(event=second_meeting)
    survey_submit(survey_id=second.pk, doctor=doctor, answers=answers_for(second))
    rows = PointsTransaction.objects.filter(account__user=doctor, rule__code="meeting_survey")
    assert sorted(rows.values_list("source_id", flat=True)) == sorted([str(survey.pk), str(second.pk)])


def unsaved_survey(questions, **fields) -> Survey:
    survey = Survey(title=fields.pop("title", "会后问卷"), **fields)
    survey.questions = [SurveyQuestion(kind=k, text=t, choices=c, required=r) for k, t, c, r in questions]
    return survey


@pytest.mark.parametrize(("questions", "code"), [
    ([], "survey_no_questions"),
    ([("single", "一个问题", "", True)], "question_choices"),
    ([("multiple", "一个问题", "只有一个", True)], "question_choices"),
    ([("single", "一个问题", "相同\n相同", True)], "question_choices"),
    ([("rating", "评分", "1\n2", True)], "question_choices"),
    ([("text", "   ", "", True)], "question_empty"),
])
def test_builder_refuses_unanswerable_questions(questions, code):
    with pytest.raises(DomainError) as caught:
        survey_save(survey=unsaved_survey(questions), actor=make_staff())
    assert caught.value.code == code
    assert not Survey.objects.exists()


def test_builder_saves_questions_and_audits():
    staff = make_staff()
    now = timezone.now()
    with pytest.raises(DomainError) as caught:
        survey_save(survey=unsaved_survey([("text", "意见", "", False)], opens_at=now, closes_at=now), actor=staff)
    assert caught.value.code == "survey_window"
    survey = survey_save(survey=unsaved_survey([("single", "是否有帮助", "是\n否", True), ("nps", "推荐", "", True)]),
                         actor=staff)
    assert [q.kind for q in Survey.objects.get().questions.all()] == ["single", "nps"]
    assert survey.created_by == staff
    assert AuditEntry.objects.filter(action="events.survey_create", object_id=str(survey.pk)).exists()


def test_answered_survey_keeps_its_answered_questions_and_anonymity(attended):
    _event, survey, doctor = attended
    survey_submit(survey_id=survey.pk, doctor=doctor, answers=answers_for(survey))
    staff = make_staff()
    survey = Survey.objects.get(pk=survey.pk)
    survey.anonymous = True
    with pytest.raises(DomainError) as caught:
        survey_save(survey=survey, actor=staff)
    assert caught.value.code == "survey_anonymity_locked"
    survey = Survey.objects.get(pk=survey.pk)
    survey.questions = list(survey.questions.all())[1:]
    with pytest.raises(DomainError) as caught:
        survey_save(survey=survey, actor=staff)
    assert caught.value.code == "question_has_answers"
    assert Survey.objects.get(pk=survey.pk).questions.count() == 5
