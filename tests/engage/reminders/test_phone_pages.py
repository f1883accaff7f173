"""The reminder pages on a phone: a patient with a dose every five minutes (288 a day) sees what to confirm now,
the next doses of today and the coming days grouped and counted, and a paged history; buttons only where a dose can
be confirmed. The doctor's page summarises such a plan instead of listing 288 times. The enrolment form offers a short
list of zones (China first) and ticks no channel consent. An SMS reply is acknowledged in the webhook's TwiML."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engage.reminders.forms import EnrolmentForm
from engage.reminders.models import DoseEvent
from engage.reminders.selectors import dose_confirmable, dose_overview, patient_token
from engage.reminders.services import doses_dispatch
from tests.engage.reminders.conftest import dose_at

S = DoseEvent.Status
EVERY_FIVE_MINUTES = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(0, 60, 5)]


@pytest.fixture
def patient(make_patient, recorded_deliveries):
    return make_patient()


def _busy_day(patient, make_plan, now):
    """Doses every five minutes from two days ago until two days ahead; the past ones answered or missed."""
    plan = make_plan(patient, times=EVERY_FIVE_MINUTES[:1], start=date(2026, 1, 1))
    start = now.replace(second=0, microsecond=0) - timedelta(days=2)
    doses = []
    for step in range(0, 4 * 288):
        due = start + timedelta(minutes=5 * step)
        status = S.SCHEDULED
        if due < now - timedelta(hours=3):
            status = S.TAKEN if step % 3 else S.MISSED
        elif due <= now:
            status = S.SENT
        doses.append(DoseEvent(plan=plan, patient=patient, local_date=due.astimezone(patient.tz).date(),
                               local_time=due.astimezone(patient.tz).time(), due_at=due, status=status))
    DoseEvent.objects.filter(patient=patient).delete()
    DoseEvent.objects.bulk_create(doses)
    return plan


@pytest.mark.django_db
def test_a_busy_patients_page_is_grouped_short_and_paged(client, patient, make_plan):
    now = timezone.now()
    _busy_day(patient, make_plan, now)
    url = reverse("reminders_patient_page", args=[patient_token(patient)])
    html = client.get(url).content.decode()
    assert html.count('data-testid="dose"') <= 12  # what can be confirmed now
    assert html.count('data-testid="dose-coming"') <= 3 * 6  # a few per coming day
    assert html.count('data-testid="dose-past"') == 20  # one page of history
    assert 'data-testid="dose-more"' in html and 'data-testid="dose-history-next"' in html
    assert html.count('data-testid="dose-group-day"') >= 2
    # Buttons only for doses that can be confirmed now: as many button pairs as confirmable doses.
    overview = dose_overview(patient, now=timezone.now())
    assert all(dose_confirmable(dose, timezone.now()) for dose in overview.confirmable)
    assert not any(dose_confirmable(dose, timezone.now()) for group in overview.coming for dose in group.doses)
    assert html.count('data-testid="dose-taken"') == len(overview.confirmable)
    older = client.get(url + "?page=2").content.decode()
    assert older.count('data-testid="dose-past"') == 20
    assert client.get(url + "?page=banana").status_code == 200  # a bad page number shows the first page


@pytest.mark.django_db
def test_a_future_dose_shows_no_buttons_and_cannot_be_confirmed(client, patient, make_plan):
    later = dose_at(patient, make_plan(patient), timezone.now() + timedelta(hours=3))
    url = reverse("reminders_patient_page", args=[patient_token(patient)])
    html = client.get(url).content.decode()
    assert f'data-testid="dose-coming" data-dose="{later.pk}"' in html
    assert 'data-testid="dose-taken"' not in html
    client.post(url, {"action": "taken", "dose": later.pk})
    later.refresh_from_db()
    assert later.status == S.SCHEDULED


@pytest.mark.django_db
def test_the_doctors_patient_page_summarises_a_plan_of_288_times(patient, make_plan):
    make_plan(patient, times=EVERY_FIVE_MINUTES)
    client = Client()
    client.force_login(patient.doctor)
    response = client.get(reverse("reminders_doctor_patient", args=[patient.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    times = html[html.index('data-testid="plan-times"'):]
    times = times[:times.index("</span>")]
    assert "288" in times and "23:55" not in times and "00:25" in times
    assert 'data-testid="dose-overview"' in html


def test_enrolment_offers_a_short_zone_list_china_first_and_ticks_no_channel():
    form = EnrolmentForm()
    zones = [value for value, _label in form.fields["time_zone"].choices]
    assert zones[0] == "Asia/Shanghai" and len(zones) <= 12 and len(set(zones)) == len(zones)
    html = form.as_div()
    for name, field in form.fields.items():
        if name.startswith("consent_") and name != "consent_version":
            assert not field.initial, name
    assert "checked" not in html
    assert str(form["time_zone"]).count("<option") == len(zones)


def test_enrolment_refuses_a_zone_outside_the_list():
    form = EnrolmentForm(data={"name": "王小明", "mobile": "13800138000", "birth_date": "1970-01-01",
                               "time_zone": "Africa/Abidjan", "language": "zh-hans"})
    assert not form.is_valid() and "time_zone" in form.errors


@pytest.mark.django_db
def test_an_sms_reply_is_acknowledged_in_the_twiml(client, patient, make_plan, twilio_post, fake_twilio):
    now = timezone.now()
    dose = dose_at(patient, make_plan(patient), now - timedelta(minutes=3))
    doses_dispatch(now=now - timedelta(minutes=2))
    response = twilio_post(client, "/webhooks/twilio/inbound/",
                           {"MessageSid": "SMack1", "From": patient.mobile, "To": "+15005550006", "Body": "1"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    body = response.content.decode()
    dose.refresh_from_db()
    assert dose.status == S.TAKEN
    assert "<Message>" in body and dose.local_time.strftime("%H:%M") in body and "二甲双胍" in body
    # The same message again (Twilio retries): the same acknowledgement, nothing recorded twice.
    again = twilio_post(client, "/webhooks/twilio/inbound/",
                        {"MessageSid": "SMack1", "From": patient.mobile, "To": "+15005550006", "Body": "1"})
    assert again.content.decode() == body
