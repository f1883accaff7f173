"""The treating doctor's plan pages: taper rows in the plan form, editing, pause/resume/stop, check-ups."""

from datetime import date

import pytest
from django.urls import reverse

from engage.reminders.models import FollowUpPlan, MedicationPlan
from tests.factories import make_doctor

PLAN = {"drug": "泼尼松", "dose_text": "", "times": "08:00", "schedule_kind": "daily", "interval_days": 1,
        "start_date": "2026-06-01"}


@pytest.fixture
def patient(make_patient, recorded_deliveries):
    return make_patient()


@pytest.fixture
def staff(role_user, programme):
    """Programme staff: they see the patient's page, not the plan forms."""
    user = role_user("marketing")
    programme.staff.add(user)
    return user


@pytest.mark.django_db
def test_doctor_adds_a_taper_plan_with_the_repeated_rows(client, patient):
    client.force_login(patient.doctor)
    page = client.get(reverse("reminders_doctor_patient", args=[patient.pk]))
    assert page.content.decode().count('name="taper_dose"') >= 4  # spare rows, no script needed
    data = {**PLAN, "taper_dose": ["4 片", "3 片", "2 片", "1 片", ""], "taper_days": ["7", "7", "7", "7", ""]}
    response = client.post(reverse("reminders_doctor_patient", args=[patient.pk]), data)
    assert response.status_code == 302
    plan = patient.plans.get()
    assert plan.taper_steps == [{"dose": "4 片", "days": 7}, {"dose": "3 片", "days": 7},
                                {"dose": "2 片", "days": 7}, {"dose": "1 片", "days": 7}]
    assert plan.end_date == date(2026, 6, 28)


@pytest.mark.django_db
@pytest.mark.parametrize(("doses", "days"), [(["4 片"], [""]), ([""], ["7"]), (["4 片"], ["0"]), (["4 片"], ["x"])])
def test_half_filled_taper_row_is_refused(client, patient, doses, days):
    client.force_login(patient.doctor)
    response = client.post(reverse("reminders_doctor_patient", args=[patient.pk]),
                           {**PLAN, "taper_dose": doses, "taper_days": days})
    assert response.status_code == 400
    assert not patient.plans.exists()


@pytest.mark.django_db
def test_doctor_edits_a_plan(client, patient, make_plan):
    plan = make_plan(patient, times=["08:00"], start=date(2026, 6, 1),
                     taper=[], dose_text="500 mg")
    client.force_login(patient.doctor)
    url = reverse("reminders_plan_edit", args=[plan.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'value="500 mg"' in page.content.decode()
    response = client.post(url, {**PLAN, "drug": "二甲双胍", "times": "08:00, 20:00",
                                 "taper_dose": ["2 片", "1 片"], "taper_days": ["3", "3"]})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.times == ["08:00", "20:00"] and plan.taper_steps[1] == {"dose": "1 片", "days": 3}
    bad = client.post(url, {**PLAN, "times": "25:00"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_pause_resume_and_stop_buttons(client, patient, make_plan):
    plan = make_plan(patient)
    client.force_login(patient.doctor)
    page = client.get(reverse("reminders_doctor_patient", args=[patient.pk])).content.decode()
    assert "暂停" in page and "停用" in page  # Chinese first
    url = reverse("reminders_plan_status", args=[plan.pk])
    assert client.post(url, {"action": "pause"}).status_code == 302
    plan.refresh_from_db()
    assert plan.paused_at is not None
    assert client.post(url, {"action": "resume"}).status_code == 302
    plan.refresh_from_db()
    assert plan.paused_at is None
    assert client.post(url, {"action": "stop"}).status_code == 302
    plan.refresh_from_db()
    assert not plan.is_active
    assert client.post(url, {"action": "pause"}).status_code == 302  # refused with a message: stopped
    plan.refresh_from_db()
    assert plan.paused_at is None


@pytest.mark.django_db
def test_staff_and_other_doctors_cannot_change_plans(client, patient, make_plan, staff):
    plan = make_plan(patient)
    client.force_login(staff)
    assert client.get(reverse("reminders_doctor_patient", args=[patient.pk])).status_code == 200
    assert client.get(reverse("reminders_plan_edit", args=[plan.pk])).status_code == 403
    assert client.post(reverse("reminders_plan_edit", args=[plan.pk]), PLAN).status_code == 403
    assert client.post(reverse("reminders_plan_status", args=[plan.pk]), {"action": "stop"}).status_code == 403
    client.force_login(make_doctor())
    assert client.post(reverse("reminders_plan_status", args=[plan.pk]), {"action": "stop"}).status_code == 404
    assert MedicationPlan.objects.get(pk=plan.pk).is_active


@pytest.mark.django_db
def test_doctor_adds_and_edits_a_check_up(client, patient, staff):
    client.force_login(patient.doctor)
    create = reverse("reminders_follow_up_create", args=[patient.pk])
    assert client.get(create).status_code == 200
    response = client.post(create, {"title": "HbA1c", "due_date": "2026-06-01", "interval_days": "90",
                                    "remind_at": "09:00"})
    assert response.status_code == 302
    follow_up = FollowUpPlan.objects.get(patient=patient)
    assert (follow_up.interval_days, follow_up.created_by) == (90, patient.doctor)
    assert "HbA1c" in client.get(reverse("reminders_doctor_patient", args=[patient.pk])).content.decode()
    edit = reverse("reminders_follow_up_edit", args=[follow_up.pk])
    assert client.post(edit, {"title": "门诊复诊", "due_date": "2026-07-01", "interval_days": "",
                              "remind_at": "08:30", "is_active": "on"}).status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.next_due_date, follow_up.interval_days) == ("门诊复诊", date(2026, 7, 1), None)
    assert client.post(edit, {"title": "", "due_date": "2026-07-01", "remind_at": "08:30"}).status_code == 400
    client.force_login(staff)
    assert client.get(edit).status_code == 403
    assert client.post(create, {"title": "x", "due_date": "2026-06-01", "remind_at": "09:00"}).status_code == 403
    assert FollowUpPlan.objects.count() == 1
