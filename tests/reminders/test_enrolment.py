"""Enrolment with consent (doctor portal and self-enrolment by programme QR), the under-14 guardian rule, and
personal data at rest."""

from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from engage.audit.models import AuditEntry
from engage.errors import DomainError
from engage.reminders import services
from engage.reminders.models import Caregiver, Patient, PatientConsent, ProgrammeConsentText

BOTH = frozenset({"programme", "health_information", "sms"})


def enrol(programme, doctor, *, kinds=BOTH, version="1.0", **kwargs):
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


# --- Pages ------------------------------------------------------------------------------------------------


def _form(version="1.0", **extra):
    data = {"name": "孙七", "mobile": "13911112222", "time_zone": "Asia/Shanghai", "language": "zh-hans",
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
