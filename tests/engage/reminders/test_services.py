"""Enrolment with consent (doctor portal and self-enrolment by programme QR), the under-14 guardian rule, and
personal data at rest."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.reminders import services
from engage.reminders.models import Caregiver, DoseEvent, MedicationPlan, Patient, PatientConsent, ProgrammeConsentText
from engage.reminders.services import doses_materialise, local_due_at
from tests.engage.reminders.conftest import ADULT_BIRTH_DATE, plan_schedule

BOTH = frozenset({"programme", "health_information", "sms"})


def enrol(programme, doctor, *, kinds=BOTH, version="1.0", **kwargs):
    kwargs.setdefault("birth_date", ADULT_BIRTH_DATE)
    return services.patient_enrol(
        programme=programme, contact=kwargs.pop("contact", services.PersonContact(name="赵六", mobile="13912345678")),
        consent=services.ConsentGiven(kinds=frozenset(kinds), text_version=version),
        method=kwargs.pop("method", Patient.EnrolmentMethod.DOCTOR_PORTAL), doctor=doctor, **kwargs)


@pytest.mark.django_db
def test_enrolment_records_each_consent_with_version_method_time(programme, verified_doctor):
    patient = enrol(programme, verified_doctor)
    assert patient.mobile == "+8613912345678"
    rows = {c.kind: c for c in patient.consents.all()}
    assert set(rows) == set(BOTH)
    assert {c.text_version for c in rows.values()} == {"1.0"}
    assert {c.method for c in rows.values()} == {"doctor_portal"}
    assert all(c.given_at and c.withdrawn_at is None and c.recorded_by == verified_doctor for c in rows.values())
    assert AuditEntry.objects.filter(action="reminders.patient_enrol", object_id=str(patient.pk)).exists()
    services.consent_withdraw(patient=patient, kind="sms")
    assert patient.consents.get(kind="sms").withdrawn_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("kinds", [set(), {"programme", "sms"}, {"health_information", "sms"}])
def test_enrolment_without_consent_is_refused(programme, verified_doctor, kinds):
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, kinds=kinds)
    assert exc.value.code == "consent_required"
    assert Patient.objects.count() == 0 and PatientConsent.objects.count() == 0


@pytest.mark.django_db
def test_without_a_consented_channel_is_refused(programme, verified_doctor):
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, kinds={"programme", "health_information"})
    assert exc.value.code == "no_channel"


@pytest.mark.django_db
def test_outdated_consent_version_is_refused(programme, verified_doctor):
    ProgrammeConsentText.objects.create(programme=programme, version="2.0", text="新版", health_info_text="新版")
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, version="1.0")
    assert exc.value.code == "consent_version_outdated"


@pytest.mark.django_db
def test_unverified_doctor_cannot_enrol(programme, doctor):
    with pytest.raises(DomainError) as exc:
        enrol(programme, doctor)
    assert exc.value.code == "doctor_not_verified"


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "code"), [
    ("contact", services.PersonContact(name="", mobile="13912345678"), "name_required"),
    ("contact", services.PersonContact(name="x", mobile="12345"), "invalid_mobile"),
    ("contact", services.PersonContact(name="x" * 101, mobile="13912345678"), "name_required"),
    ("time_zone", "Mars/Olympus", "invalid_time_zone"),
])
def test_bad_input_is_refused(programme, verified_doctor, field, value, code):
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, **{field: value})
    assert exc.value.code == code


@pytest.mark.django_db
def test_same_number_twice_in_a_programme_conflicts(programme, verified_doctor):
    enrol(programme, verified_doctor)
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, contact=services.PersonContact(name="又一个", mobile="+8613912345678"))
    assert exc.value.code == "already_enrolled"


@pytest.mark.django_db
def test_under_14_needs_a_consenting_guardian(programme, verified_doctor):
    child = date(2018, 6, 1)
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, birth_date=child)
    assert exc.value.code == "guardian_required"
    guardian = services.PersonContact(name="孩子妈妈", mobile="13800000001")
    with pytest.raises(DomainError) as exc:  # guardian agreed to the programme only, not to health information
        enrol(programme, verified_doctor, birth_date=child, caregiver=guardian,
              caregiver_consent=services.ConsentGiven(kinds=frozenset({"programme"}), text_version="1.0"))
    assert exc.value.code == "guardian_required"
    patient = enrol(programme, verified_doctor, birth_date=child, caregiver=guardian,
                    caregiver_consent=services.ConsentGiven(kinds=BOTH, text_version="1.0"))
    assert patient.caregiver.is_guardian
    assert {c.guardian_name for c in patient.consents.filter(caregiver__isnull=True)} == {"孩子妈妈"}
    assert patient.caregiver.consents.count() == 3


@pytest.mark.django_db
def test_raw_patient_table_has_no_plain_names_or_numbers(programme, verified_doctor):
    enrol(programme, verified_doctor, contact=services.PersonContact(name="欧阳娜娜", mobile="13912345678",
                                                                      wechat_openid="oWXraw-openid-123"),
          caregiver=services.PersonContact(name="欧阳妈妈", mobile="13812345678"),
          caregiver_consent=services.ConsentGiven(kinds=BOTH, text_version="1.0"))
    for table in ("reminders_patient", "reminders_caregiver", "reminders_patientconsent"):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump = repr(cursor.fetchall())
        for secret in ("欧阳", "13912345678", "13812345678", "oWXraw-openid-123"):
            assert secret not in dump, (table, secret)
    assert Patient.objects.get().name == "欧阳娜娜"
    assert Caregiver.objects.get().mobile == "+8613812345678"


def _form(version="1.0", **extra):
    data = {"name": "孙七", "mobile": "13911112222", "birth_date": "1970-01-01", "time_zone": "Asia/Shanghai",
            "language": "zh-hans",
            "consent_version": version, "consent_programme": "on", "consent_health": "on", "consent_sms": "on"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_self_enrolment_by_programme_qr(client, programme):
    url = reverse("reminders_self_enrol", args=[programme.enrolment_token])
    page = client.get(url)
    assert page.status_code == 200
    assert "参加项目" in page.content.decode() and "处理健康信息" in page.content.decode()
    response = client.post(url, _form())
    assert response.status_code == 302 and "/reminders/p/" in response["Location"]
    patient = Patient.objects.get()
    assert patient.enrolment_method == "self_qr" and patient.doctor is None
    assert set(patient.consents.values_list("method", flat=True)) == {"self_qr"}


@pytest.mark.django_db
def test_self_enrolment_without_health_consent_shows_the_reason(client, programme):
    url = reverse("reminders_self_enrol", args=[programme.enrolment_token])
    response = client.post(url, _form(consent_health=None))
    assert response.status_code == 400
    assert "health information" in response.content.decode() or "健康信息" in response.content.decode()
    assert Patient.objects.count() == 0


@pytest.mark.django_db
def test_unknown_programme_token_is_404(client, programme):
    assert client.get(reverse("reminders_self_enrol", args=["forged-token"])).status_code == 404


@pytest.mark.django_db
def test_doctor_enrols_in_portal(client, programme, verified_doctor):
    client.force_login(verified_doctor)
    response = client.post(reverse("reminders_doctor_enrol"), _form(programme=programme.pk))
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.doctor == verified_doctor and patient.enrolment_method == "doctor_portal"


@pytest.mark.django_db
def test_unverified_doctor_gets_no_portal(client, programme, doctor):
    client.force_login(doctor)
    assert client.get(reverse("reminders_doctor_enrol")).status_code == 403
    assert client.post(reverse("reminders_doctor_enrol"), _form(programme=programme.pk)).status_code == 403
    assert Patient.objects.count() == 0


NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")


def test_shanghai_has_no_dst():
    assert local_due_at(date(2026, 3, 8), time(8, 0), SH) == datetime(2026, 3, 8, 0, 0, tzinfo=UTC)


def test_spring_forward_gap_fires_at_first_valid_instant():
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist; due at 03:00 EDT = 07:00 UTC.
    assert local_due_at(date(2026, 3, 8), time(2, 30), NY) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert local_due_at(date(2026, 3, 8), time(3, 30), NY) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert local_due_at(date(2026, 3, 7), time(2, 30), NY) == datetime(2026, 3, 7, 7, 30, tzinfo=UTC)


def test_fall_back_repeat_fires_once_at_first_occurrence():
    # 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST): the first one.
    assert local_due_at(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_materialise_48_hours_once(make_patient, make_plan):
    patient = make_patient()
    make_plan(patient, times=["08:00", "20:00"])
    now = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert doses_materialise(now=now) == 4  # 20:00 today, 08:00 + 20:00 tomorrow, 08:00 the day after
    doses = list(DoseEvent.objects.order_by("due_at"))
    assert [(d.local_date, d.local_time) for d in doses] == [
        (date(2026, 5, 1), time(20)), (date(2026, 5, 2), time(8)), (date(2026, 5, 2), time(20)),
        (date(2026, 5, 3), time(8)),
    ]
    assert doses[0].due_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert all(now <= d.due_at < now + timedelta(hours=48) for d in doses)
    # The same tick again, or the next minute's: nothing new, nothing twice.
    assert doses_materialise(now=now) == 0
    doses_materialise(now=now + timedelta(minutes=1))
    assert DoseEvent.objects.count() == 4
    # An hour and more later the horizon moves on by what is new only.
    doses_materialise(now=now + timedelta(hours=12))
    assert DoseEvent.objects.count() == 5
    assert DoseEvent.objects.values("plan", "local_date", "local_time").distinct().count() == 5


@pytest.mark.django_db
def test_plan_materialisation_sees_patient_time_zone(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["08:00"])
    doses_materialise(now=datetime(2026, 5, 1, 0, 0, tzinfo=UTC))  # 20:00 on 30 April in New York
    first = DoseEvent.objects.order_by("due_at").first()
    assert (first.local_date, first.local_time) == (date(2026, 5, 1), time(8))
    assert first.due_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # EDT = UTC-4


@pytest.mark.django_db
def test_new_york_across_spring_forward(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["02:30", "08:00"])
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), tick=False):
        doses_materialise()
    due = {(d.local_date, d.local_time): d.due_at for d in DoseEvent.objects.all()}
    assert due[(date(2026, 3, 8), time(2, 30))] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # gap: 03:00 EDT
    assert due[(date(2026, 3, 8), time(8))] == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # EDT
    assert due[(date(2026, 3, 7), time(8))] == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)  # still EST
    assert len(due) == 4  # 03-07 08:00, 03-08 02:30 and 08:00, 03-09 02:30 (03-09 08:00 is 48 h away)


@pytest.mark.django_db
def test_new_york_across_fall_back_once(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["01:30"])
    with time_machine.travel(datetime(2026, 10, 31, 12, 0, tzinfo=UTC), tick=False):
        doses_materialise()
    nov1 = DoseEvent.objects.filter(local_date=date(2026, 11, 1))
    assert nov1.count() == 1
    assert nov1.get().due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert DoseEvent.objects.get(local_date=date(2026, 11, 2)).due_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"schedule_kind": "weekdays", "weekdays": [0, 2]}, [date(2026, 6, 1), date(2026, 6, 3)]),  # Mon, Wed
    ({"schedule_kind": "every_n_days", "interval_days": 3}, [date(2026, 6, 1), date(2026, 6, 4)]),
    ({"cycle": (2, 1)}, [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 4), date(2026, 6, 5)]),
    ({"end_date": date(2026, 6, 2)}, [date(2026, 6, 1), date(2026, 6, 2)]),
    ({"as_needed": True}, []),
])
def test_schedule_kinds(make_patient, make_plan, kwargs, expected):
    patient = make_patient()
    plan = make_plan(patient, times=["12:00"], start=date(2026, 6, 1), **kwargs)
    days = [date(2026, 6, d) for d in range(1, 6)]
    assert [d for d in days if plan.occurs_on(d)] == expected


@pytest.mark.django_db
def test_opted_out_and_inactive_plans_are_not_materialised(make_patient, make_plan):
    now = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    make_plan(make_patient(), times=["12:00"], as_needed=True)
    stopped = make_plan(make_patient(), times=["12:00"])
    MedicationPlan.objects.filter(pk=stopped.pk).update(is_active=False)
    opted = make_patient()
    make_plan(opted, times=["12:00"])
    opted.opted_out_at = now
    opted.save()
    assert doses_materialise(now=now) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_doctor", "unverified_doctor", "rep", "marketing", "admin", "anonymous"])
def test_only_the_treating_verified_doctor_adds_a_medication_plan(make_patient, role_user, doctor, who):
    """The rule lives in the service: no interface can add a plan for somebody else's patient."""
    from django.contrib.auth.models import AnonymousUser

    from tests.factories import make_doctor

    patient = make_patient()
    if who == "other_doctor":
        actor = make_doctor()
    elif who == "unverified_doctor":
        actor = doctor
        patient.doctor = doctor  # even their own patient: verification first
        patient.save(update_fields=["doctor"])
    elif who == "anonymous":
        actor = AnonymousUser()
    else:
        actor = role_user(who)
    with pytest.raises(DomainError) as refused:
        services.medication_plan_create(patient=patient, schedule=plan_schedule(), actor=actor)
    assert refused.value.code == "not_treating_doctor" and refused.value.status == 403
    assert not MedicationPlan.objects.filter(patient=patient).exists()
    plan = services.medication_plan_create(patient=patient, schedule=plan_schedule(), actor=patient.doctor) \
        if who != "unverified_doctor" else None
    assert who == "unverified_doctor" or plan.created_by == patient.doctor


@pytest.mark.django_db
def test_birth_date_is_required_at_enrolment(programme, verified_doctor):
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, birth_date=None)
    assert exc.value.code == "birth_date_required"
    with pytest.raises(DomainError) as exc:
        enrol(programme, verified_doctor, birth_date=date(1850, 1, 1))
    assert exc.value.code == "invalid_birth_date"
    assert Patient.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["self_qr", "doctor_portal"])
def test_every_enrolment_form_needs_a_birth_date_and_a_guardian_under_14(client, programme, verified_doctor, path):
    if path == "self_qr":
        url, extra = reverse("reminders_self_enrol", args=[programme.enrolment_token]), {}
    else:
        client.force_login(verified_doctor)
        url, extra = reverse("reminders_doctor_enrol"), {"programme": programme.pk}
    assert client.post(url, _form(birth_date=None, **extra)).status_code == 400
    child = date.today().replace(year=date.today().year - 10).isoformat()
    refused = client.post(url, _form(birth_date=child, **extra))
    assert refused.status_code == 400
    assert "14" in refused.content.decode()
    assert Patient.objects.count() == 0
    enrolled = client.post(url, _form(birth_date=child, guardian_name="孩子妈妈", guardian_mobile="13800000001",
                                      guardian_relationship="母亲", guardian_consent="on", **extra))
    assert enrolled.status_code == 302
    patient = Patient.objects.get()
    assert patient.caregiver.is_guardian and patient.birth_date.isoformat() == child


@pytest.mark.django_db
def test_the_ticks_reachability_from_the_hashes_agrees_with_the_route_from_the_contact_details(make_patient):
    """The minute tick decides from the look-up hashes alone (nothing decrypted) whether a dose can be sent; for
    every contact and consent combination that is exactly when the reminder finds a route."""
    from itertools import combinations

    from django.utils import timezone

    everything = {"programme", "health_information", "sms", "wechat"}
    patients = [make_patient(), make_patient(openid="oBOTH-1", preferred_channel="wechat"),
                make_patient(openid="oBOTH-2", preferred_channel="sms")]
    opted_out = make_patient()
    Patient.objects.filter(pk=opted_out.pk).update(opted_out_at=timezone.now())
    opted_out.refresh_from_db()
    no_mobile = make_patient(openid="oONLY-3", kinds=everything - {"sms"}, preferred_channel="wechat")
    Patient.objects.filter(pk=no_mobile.pk).update(mobile="", mobile_hash="")
    no_mobile.refresh_from_db()
    checked = reachable = 0
    for patient in [*patients, opted_out, no_mobile]:
        lean = Patient.objects.only("opted_out_at", "mobile_hash", "openid_hash").get(pk=patient.pk)
        for size in range(len(everything) + 1):
            for kinds in map(set, combinations(sorted(everything), size)):
                expected = services.patient_route(patient, kinds) is not None
                assert services.patient_reachable(lean, kinds) is expected, (patient.pk, kinds)
                checked, reachable = checked + 1, reachable + expected
    assert checked == 80 and 0 < reachable < checked
