"""Survey results (charts' numbers, response rate, non-responders, Excel), the phone pages and the admin."""

import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from engage.audit.models import AuditEntry
from events.surveys.exporters import survey_results_xlsx
from events.surveys.models import Survey, SurveyResponse
from events.surveys.selectors import survey_results
from events.surveys.services import survey_submit
from members.points.models import PointsRule
from tests.events.factories import (
    answers_for,
    check_in,
    make_doctor,
    make_event,
    make_registration,
    make_staff,
    make_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered():
    """Three checked-in doctors, two of whom answered; a registered no-show."""
    event = make_event(starts_at=timezone.now() - timedelta(hours=3))
    doctors = [make_doctor(real_name=name) for name in ("甲医生", "乙医生", "丙医生")]
    for doctor in doctors:
        check_in(event, doctor)
    make_registration(event, make_doctor(real_name="缺席医生"))
    return event, doctors


def test_results_numbers_rate_and_non_responders(answered):
    event, doctors = answered
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    survey_submit(survey_id=survey.pk, doctor=doctors[1],
                  answers=answers_for(survey, q0=["2"], q1=["1"], q2=["3"], q3=["4"], q4=[]))
    results = survey_results(survey=survey)
    assert (results.responses, results.attendees, results.response_rate_percent) == (2, 3, 67)
    assert results.non_responders == [doctors[2]]
    single, multiple, rating, nps, text = results.questions
    assert [(o.label, o.count, o.percent) for o in single.options] == [
        ("非常有帮助", 1, 50), ("有一定帮助", 0, 0), ("帮助不大", 1, 50)]
    assert [(o.label, o.count) for o in multiple.options if o.count] == [("GLP-1受体激动剂", 2), ("低血糖管理", 1)]
    assert rating.average == 4.0 and [o.count for o in rating.options] == [0, 0, 1, 0, 1]
    assert nps.nps == 0 and len(nps.options) == 11  # one promoter (9), one detractor (4)
    assert text.texts == ["讲得很好"] and text.answered == 1


def test_rate_counts_only_valid_checkins_and_standalone_has_no_rate(answered):
    event, doctors = answered
    checkin = event.checkins.get(registration__doctor=doctors[2])
    checkin.annulled_at, checkin.annul_reason = timezone.now(), "误扫"
    checkin.save()
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    results = survey_results(survey=survey)
    assert (results.attendees, results.response_rate_percent, results.non_responders) == (2, 50, [doctors[1]])
    standalone = survey_results(survey=make_survey())
    assert (standalone.attendees, standalone.response_rate, standalone.non_responders) == (None, None, None)


def test_anonymous_results_list_non_responders_but_no_doctor_on_responses(answered):
    event, doctors = answered
    survey = make_survey(event=event, anonymous=True)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    results = survey_results(survey=survey)
    assert set(results.non_responders) == {doctors[1], doctors[2]}
    book = load_workbook(io.BytesIO(survey_results_xlsx(results)))
    responses = list(book.worksheets[1].iter_rows(values_only=True))
    assert len(responses) == 2 and "Doctor" not in responses[0] and "甲医生" not in responses[1]
    assert [row[0] for row in book.worksheets[2].iter_rows(values_only=True)][1:] == ["乙医生", "丙医生"]


def test_xlsx_export_of_named_survey(answered):
    event, doctors = answered
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    book = load_workbook(io.BytesIO(survey_results_xlsx(survey_results(survey=survey))))
    assert len(book.sheetnames) == 3
    summary = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    assert ("Responses", 1) in [row[:2] for row in summary] or any(row[1] == 1 for row in summary[:6])
    assert any(row[2] == "非常有帮助" and row[3] == 1 for row in summary if len(row) > 3)
    responses = list(book.worksheets[1].iter_rows(values_only=True))
    assert responses[1][1] == "甲医生" and "GLP-1受体激动剂; 低血糖管理" in responses[1]


def test_doctor_answers_on_the_phone_and_sees_points(client, answered):
    event, doctors = answered
    survey = make_survey(event=event)
    client.force_login(doctors[0])
    url = reverse("events:survey_answer", args=[survey.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="survey-form"' in page.content.decode()
    questions = list(survey.questions.all())
    incomplete = client.post(url, {f"q_{questions[0].pk}": "0"})
    assert incomplete.status_code == 400 and 'data-testid="question-error"' in incomplete.content.decode()
    form = {f"q_{q.pk}": values for q, values in zip(questions, (["0"], ["1", "3"], ["4"], ["10"], ["很好"]),
                                                      strict=True)}
    done = client.post(url, form)
    assert done.status_code == 302 and done["Location"] == reverse("events:survey_thanks", args=[survey.pk])
    thanks = client.get(done["Location"]).content.decode()
    points = PointsRule.objects.get(code="meeting_survey").points
    assert 'data-testid="survey-points"' in thanks and str(points) in thanks
    again = client.post(url, form)
    assert again.status_code == 302 and SurveyResponse.objects.count() == 1
    assert client.get(url).status_code == 302  # answered: straight to the thank-you page


def test_pages_refuse_outsiders_and_explain_refusals(client, answered):
    event, _doctors = answered
    survey = make_survey(event=event)
    url = reverse("events:survey_answer", args=[survey.pk])
    client.force_login(make_doctor())  # not registered for the meeting
    assert client.get(url).status_code == 404
    registered = make_doctor()
    make_registration(event, registered)
    client.force_login(registered)
    page = client.get(url).content.decode()
    assert 'data-code="not_checked_in"' in page and 'data-testid="survey-form"' not in page
    assert client.get(reverse("events:survey_answer", args=[999999])).status_code == 404
    listing = client.get(reverse("events:survey_list")).content.decode()
    assert survey.title in listing


def _builder_form(questions, **fields):
    data = {"title": "会后满意度调查", "intro": "", "event": "", "anonymous": "", "opens_at": "", "closes_at": "",
            "questions": inline_formset([{"kind": k, "text": t, "choices": c, "required": "on"}
                                         for k, t, c in questions])}
    data.update(fields)
    return nested_form_data(data)


def test_admin_builder_validates_choices_and_saves(client):
    client.force_login(make_staff("marketing"))
    add = reverse("wagtailsnippets_events_survey:add")
    refused = client.post(add, _builder_form([("single", "是否有帮助", "")]))
    assert refused.status_code == 200 and not Survey.objects.exists()
    errors = refused.context["form"].non_field_errors()
    assert len(errors) == 1 and "是否有帮助" in errors[0]
    created = client.post(add, _builder_form([("single", "是否有帮助", "是\n否"), ("nps", "推荐意愿", "")]))
    assert created.status_code == 302
    survey = Survey.objects.get()
    assert [(q.kind, q.choice_list) for q in survey.questions.all()] == [("single", ["是", "否"]), ("nps", [])]
    assert AuditEntry.objects.filter(action="events.survey_create", object_id=str(survey.pk)).exists()


def test_admin_results_page_and_export(client, answered):
    event, doctors = answered
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    results_url = reverse("wagtailsnippets_events_survey:results", args=[survey.pk])
    export_url = reverse("wagtailsnippets_events_survey:results_xlsx", args=[survey.pk])
    client.force_login(doctors[0])
    assert client.get(results_url).status_code in (302, 403)
    assert client.get(export_url).status_code in (302, 403)
    client.force_login(make_staff("compliance"))
    index = client.get(reverse("wagtailsnippets_events_survey:list")).content.decode()
    assert survey.title in index and results_url in index
    page = client.get(results_url).content.decode()
    assert 'data-testid="survey-rate">33%' in page and "乙医生" in page and "丙医生" in page
    assert 'class="engage-bar"' in page
    # The bars are drawn by our own CSS: every script and stylesheet comes from our own origin (no charting CDN).
    # (Asserting "cdn" is absent from the whole page failed whenever the random CSRF token spelt it.)
    loaded = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', page)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
    export = client.get(export_url)
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(export.content)).sheetnames[0]
    assert AuditEntry.objects.filter(action="events.survey_results_export").count() == 1


def test_remind_non_responders_once_a_day(client, answered):
    from engage.inbox.models import Notification

    event, doctors = answered
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=doctors[0], answers=answers_for(survey))
    staff = make_staff("marketing")
    client.force_login(staff)
    remind_url = reverse("wagtailsnippets_events_survey:remind", args=[survey.pk])
    response = client.post(remind_url)
    assert response.status_code == 302
    notified = Notification.objects.filter(kind="event_survey")
    assert sorted(notified.values_list("user_id", flat=True)) == sorted([doctors[1].pk, doctors[2].pk])
    assert all(n.url == reverse("events:survey_answer", args=[survey.pk]) for n in notified)
    client.post(remind_url)
    assert notified.count() == 2  # once per doctor per day
    assert AuditEntry.objects.filter(action="events.survey_remind").count() == 2
    closed = make_survey(event=event, closes_at=timezone.now() - timedelta(minutes=1))
    client.post(reverse("wagtailsnippets_events_survey:remind", args=[closed.pk]))
    assert notified.count() == 2
    client.force_login(doctors[1])
    assert client.post(remind_url).status_code in (302, 403) and notified.count() == 2
