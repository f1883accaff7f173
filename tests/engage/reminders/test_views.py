"""The patient's signed-link page, the doctor's and programme staff's adherence views (role matrix), the PV queue in
the admin, and the development phone."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from engage.reminders.models import DoseEvent, PharmacovigilanceCase, ReportedValue
from engage.reminders.selectors import (
    LINK_SALT,
    adherence_of_patient,
    adherence_of_programme,
    patient_link,
    patient_token,
)
from tests.engage.reminders.conftest import dose_at

S = DoseEvent.Status


@pytest.fixture
def patient(make_patient, recorded_deliveries):
    return make_patient()


def page_url(patient):
    return reverse("reminders_patient_page", args=[patient_token(patient)])


@pytest.mark.django_db
def test_patient_page_shows_todays_doses_and_confirms(client, patient, make_plan):
    now = timezone.now()
    dose = dose_at(patient, make_plan(patient), now - timedelta(minutes=5), status=S.SENT)
    url = page_url(patient)
    link = patient_link(patient)
    assert link.startswith("http") and client.get(urlparse(link).path).status_code == 200
    page = client.get(url)
    assert page.status_code == 200
    assert f'data-dose="{dose.pk}"' in page.content.decode()
    response = client.post(url, {"action": "taken", "dose": dose.pk})
    assert response.status_code == 302
    dose.refresh_from_db()
    assert dose.status == S.TAKEN and dose.confirmed_via == "page"


@pytest.mark.django_db
def test_patient_page_cannot_touch_another_patients_dose(client, patient, make_patient, make_plan):
    other = make_patient()
    theirs = dose_at(other, make_plan(other), timezone.now(), status=S.SENT)
    client.post(page_url(patient), {"action": "taken", "dose": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.status == S.SENT


@pytest.mark.django_db
def test_patient_page_opt_out_button(client, patient, make_plan):
    dose = dose_at(patient, make_plan(patient), timezone.now() + timedelta(hours=2))
    client.post(page_url(patient), {"action": "opt_out"})
    patient.refresh_from_db()
    dose.refresh_from_db()
    assert patient.opted_out_at is not None and dose.status == S.CANCELLED


@pytest.mark.django_db
def test_patient_page_reports_glucose_with_validation(client, patient):
    url = page_url(patient)
    assert client.post(url, {"action": "report", "value": "126", "unit": "mg/dL", "note": ""}).status_code == 302
    assert str(ReportedValue.objects.get().value) == "7.0"
    bad = client.post(url, {"action": "report", "value": "80", "unit": "mmol/L", "note": ""})
    assert bad.status_code == 400
    assert ReportedValue.objects.count() == 1
    client.post(url, {"action": "report", "value": "6.1", "unit": "mmol/L", "note": "今天头晕"})
    assert PharmacovigilanceCase.objects.get().matched_keywords == ["头晕"]


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["nonsense", "eyJwIjoxfQ:forged:signature"])
def test_forged_links_are_refused(client, patient, token):
    response = client.get(reverse("reminders_patient_page", args=[token]))
    assert response.status_code == 404
    assert client.post(reverse("reminders_patient_page", args=[token]), {"action": "opt_out"}).status_code == 404
    patient.refresh_from_db()
    assert patient.opted_out_at is None


@pytest.mark.django_db
def test_link_signed_with_another_salt_or_patient_is_refused(client, patient):
    token = signing.dumps({"p": patient.pk, "v": 1}, salt="something-else", compress=True)
    assert client.get(reverse("reminders_patient_page", args=[token])).status_code == 404
    token = signing.dumps({"p": patient.pk + 999, "v": 1}, salt=LINK_SALT, compress=True)
    assert client.get(reverse("reminders_patient_page", args=[token])).status_code == 404


@pytest.mark.django_db
def test_expired_and_revoked_links(client, patient):
    url = page_url(patient)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.get(url).status_code == 403
    patient.link_version += 1
    patient.save()
    assert client.get(url).status_code == 404


@pytest.fixture
def adherence_setup(patient, make_plan, programme):
    plan = make_plan(patient)
    now = timezone.now()
    statuses = [S.TAKEN, S.TAKEN, S.MISSED, S.SKIPPED, S.TAKEN]
    for i, status in enumerate(statuses):
        d = dose_at(patient, plan, now - timedelta(days=i + 1), status=status)
        if status == S.TAKEN:
            # the last one was confirmed three hours late: taken, but not on time
            d.confirmed_at = d.due_at + (timedelta(hours=3) if i == 4 else timedelta(minutes=10))
            d.save()
    dose_at(patient, plan, now - timedelta(days=6), status=S.EXPIRED)  # never asked: not due
    dose_at(patient, plan, now + timedelta(hours=3))  # future
    return patient


@pytest.mark.django_db
def test_adherence_is_taken_on_time_over_due(adherence_setup, programme):
    a = adherence_of_patient(adherence_setup)
    assert (a.due, a.taken_on_time, a.percent) == (5, 2, "40%")
    assert adherence_of_programme(programme).due == 5


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "patient_page", "programme_page"), [
    ("treating_doctor", 200, 404),
    ("other_doctor", 404, 404),
    ("programme_staff", 200, 200),
    ("staff_not_on_programme", 404, 404),
    ("rep", 404, 404),
    ("rep_on_programme", 404, 404),
])
def test_role_matrix(client, adherence_setup, programme, verified_doctor, role_user, who, patient_page,
                     programme_page):
    users = {
        "treating_doctor": lambda: verified_doctor,
        "other_doctor": lambda: role_user("doctor"),
        "programme_staff": lambda: role_user("marketing"),
        "staff_not_on_programme": lambda: role_user("medical_reviewer"),
        "rep": lambda: role_user("rep"),
        "rep_on_programme": lambda: role_user("rep"),
    }
    user = users[who]()
    if who in ("programme_staff", "rep_on_programme"):
        programme.staff.add(user)
    client.force_login(user)
    response = client.get(reverse("reminders_doctor_patient", args=[adherence_setup.pk]))
    assert response.status_code == patient_page
    if patient_page == 200:
        assert 'data-due="5"' in response.content.decode()
        # Programme staff see a masked name; the treating doctor the full one.
        assert ("王小明" in response.content.decode()) == (who == "treating_doctor")
    assert client.get(reverse("reminders_programme", args=[programme.pk])).status_code == programme_page


@pytest.mark.django_db
def test_doctor_list_shows_adherence(client, adherence_setup, verified_doctor):
    client.force_login(verified_doctor)
    page = client.get(reverse("reminders_doctor_patients")).content.decode()
    assert "40%" in page


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client, adherence_setup):
    response = client.get(reverse("reminders_doctor_patient", args=[adherence_setup.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_only_the_treating_doctor_adds_plans(client, patient, role_user, programme, verified_doctor):
    staff = role_user("marketing")
    programme.staff.add(staff)
    data = {"drug": "二甲双胍", "dose_text": "500 mg", "times": "08:00，20:00", "schedule_kind": "daily",
            "interval_days": 1, "start_date": "2026-06-01"}
    client.force_login(staff)
    assert client.post(reverse("reminders_doctor_patient", args=[patient.pk]), data).status_code == 403
    client.force_login(verified_doctor)
    assert client.post(reverse("reminders_doctor_patient", args=[patient.pk]), data).status_code == 302
    assert patient.plans.get().times == ["08:00", "20:00"]
    bad = client.post(reverse("reminders_doctor_patient", args=[patient.pk]), {**data, "times": "25:00"})
    assert bad.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status", "location"), [
    ("medical_reviewer", 200, None), ("admin", 200, None),
    ("marketing", 302, "/admin/"),  # Wagtail's "no permission": back to the dashboard
    ("rep", 302, "/admin/login/"),  # no admin access at all
])
def test_pv_queue_is_for_medical_staff(client, patient, role_user, role, status, location):
    case = PharmacovigilanceCase.objects.create(patient=patient, programme=patient.programme, text="吃药后起皮疹",
                                                matched_keywords=["皮疹"], source="sms", source_key="t1",
                                                received_at=timezone.now(), review_due_at=timezone.now())
    client.force_login(role_user(role))
    response = client.get("/admin/pharmacovigilance/")
    assert response.status_code == status
    if location:
        assert response["Location"].startswith(location)
        assert client.get(f"/admin/pharmacovigilance/inspect/{case.pk}/").status_code == 302
    else:
        assert client.get(f"/admin/pharmacovigilance/inspect/{case.pk}/").content.decode().count("吃药后起皮疹") == 1


@pytest.mark.django_db
def test_dev_phone_is_404_without_debug(client, settings):
    settings.DEBUG = False
    assert client.get(reverse("reminders_dev_phone")).status_code == 404
    assert client.post(reverse("reminders_dev_phone_reply"), {"patient": 1, "text": "1"}).status_code == 404


@pytest.fixture
def demo_doctor(db):
    """The verified demo doctor who enrols the demo patients and writes their plans (seed_demo makes the demo
    doctors before the reminder programme)."""
    from tests.factories import UserFactory, make_doctor

    return make_doctor(user=UserFactory(username="demo-doctor-001"))


@pytest.mark.django_db
def test_dev_phone_shows_messages_and_takes_replies(client, settings, recorded_deliveries, demo_doctor):
    from engage.reminders.demo import demo_patients, seed_demo_reminders
    from engage.reminders.services import reminders_tick

    settings.DEBUG = True
    seed_demo_reminders()
    reminders_tick()
    first = demo_patients()[0]
    page = client.get(reverse("reminders_dev_phone")).content.decode()
    assert first.name in page
    response = client.post(reverse("reminders_dev_phone_reply"), {"patient": first.pk, "text": "血糖 6.2"})
    assert response.status_code == 302
    assert str(first.reported_values.get().value) == "6.2"
    # The phone's thread shows the reply with the acknowledgement it got.
    page = client.get(reverse("reminders_dev_phone")).content.decode()
    thread = page[page.index(f'data-patient="{first.pk}"'):]
    assert "↩ 血糖 6.2" in thread and "6.2 mmol/L" in thread[:thread.index("</section>")]


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_doses_fall_due_every_few_minutes(recorded_deliveries, demo_doctor):
    from engage.reminders.demo import demo_patients, seed_demo_reminders
    from engage.reminders.services import reminders_tick

    assert seed_demo_reminders()["patients"] == 3
    assert seed_demo_reminders()["patients"] == 0
    now = timezone.now()
    reminders_tick(now=now)
    first = demo_patients()[0]
    upcoming = first.doses.filter(due_at__gt=now, due_at__lte=now + timedelta(minutes=10))
    assert upcoming.count() >= 2
    assert reminders_tick(now=now + timedelta(minutes=10))["queued"] >= 2


@pytest.mark.django_db
def test_programme_qr_for_programme_staff_only(client, programme, role_user):
    staff, rep = role_user("marketing"), role_user("rep")
    programme.staff.add(staff, rep)
    client.force_login(staff)
    response = client.get(reverse("reminders_programme_qr", args=[programme.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    client.force_login(rep)
    assert client.get(reverse("reminders_programme_qr", args=[programme.pk])).status_code == 404


@pytest.mark.django_db
def test_reminders_admin_menu_reaches_adherence_qr_pv_queue_terms_and_dev_phone(client, programme, role_user,
                                                                                settings):
    settings.DEBUG = True
    medical = role_user("medical_reviewer")
    programme.staff.add(medical)
    client.force_login(medical)
    menu = client.get("/admin/").content.decode()
    for url in ("/admin/pharmacovigilance/", "/admin/pv_terms/", reverse("reminders_programmes"),
                reverse("reminders_dev_phone")):
        assert url in menu, url
    listing = client.get(reverse("reminders_programmes")).content.decode()
    assert reverse("reminders_programme", args=[programme.pk]) in listing
    assert reverse("reminders_programme_qr", args=[programme.pk]) in listing
    settings.DEBUG = False
    client.force_login(role_user("marketing"))
    menu = client.get("/admin/").content.decode()
    assert reverse("reminders_programmes") in menu
    assert "/admin/pv_terms/" not in menu and reverse("reminders_dev_phone") not in menu


@pytest.mark.django_db
def test_programme_list_is_for_programme_staff(client, programme, role_user, verified_doctor):
    marketing = role_user("marketing")
    client.force_login(marketing)
    assert programme.name not in client.get(reverse("reminders_programmes")).content.decode()  # not on its staff
    programme.staff.add(marketing)
    assert programme.name in client.get(reverse("reminders_programmes")).content.decode()
    rep = role_user("rep")
    programme.staff.add(rep)
    for user in (rep, verified_doctor):
        client.force_login(user)
        assert client.get(reverse("reminders_programmes")).status_code == 403


@pytest.mark.django_db
def test_programme_quiet_hours_are_edited_in_the_admin(client, programme, role_user):
    client.force_login(role_user("marketing"))
    url = f"/admin/reminder_programmes/edit/{programme.pk}/"
    data = {"name": programme.name, "sponsor": programme.sponsor, "description": "", "template_keys": "[]",
            "is_active": "on", "quiet_start": "21:30", "quiet_end": ""}
    refused = client.post(url, data)
    assert refused.status_code == 200
    programme.refresh_from_db()
    assert (programme.quiet_start, programme.quiet_end) == (None, None)
    assert client.post(url, {**data, "quiet_end": "06:30"}).status_code == 302
    programme.refresh_from_db()
    assert (programme.quiet_start.isoformat(), programme.quiet_end.isoformat()) == ("21:30:00", "06:30:00")
