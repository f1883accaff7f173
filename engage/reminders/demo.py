"""Demo reminder programme for `manage.py seed_demo`: one programme with three patients whose doses fall due
every few minutes (plans with many times a day, materialised into ordinary dose events by the beat), delivered to
the outbox backend; /reminders/dev/phone/ (DEBUG only) shows what they received and takes replies.

Idempotent: the programme is keyed by name, patients by their mobile number's hash within it.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from engage.core.crypto import lookup_hash
from engage.core.demo import demo_seeder
from engage.core.roles import Role
from engage.reminders import selectors, services
from engage.reminders.models import Patient, PatientConsent, Programme, ProgrammeConsentText
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.profiles.models import DoctorProfile

PROGRAMME_NAME = "糖尿病用药依从性项目（演示）"
CONSENT_VERSION = "1.0"
PROGRAMME_TEXT = (
    "本项目由申办方资助，通过微信或短信在您设定的时间提醒您按医嘱服药，并在您未确认服药时再次提醒。"
    "您可随时回复 TD 退订。参加与否不影响您的诊疗。"
)
HEALTH_TEXT = (
    "为提供用药提醒，我们需要处理您的健康信息（药品名称、剂量、服药时间、服药确认和您上报的血糖值）。"
    "这些信息加密存储，仅您的主治医生和项目工作人员可见，不会提供给医药代表。"
)
# (name, mobile, birth date, minutes between doses, first minute, drug, dose, with caregiver)
PATIENTS = [
    ("王建国", "+8619900000001", date(1958, 3, 12), 5, 0, "二甲双胍缓释片", "500 mg，1 片", False),
    ("李秀英", "+8619900000002", date(1964, 9, 30), 15, 2, "格列美脲片", "2 mg，1 片", False),
    ("陈小明", "+8619900000003", date(2008, 6, 1), 30, 4, "阿卡波糖片", "50 mg，随餐嚼服", True),
]


def _every(minutes: int, first: int) -> list[str]:
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(first, 24 * 60, minutes)]


def demo_programme() -> Programme | None:
    return Programme.objects.filter(name=PROGRAMME_NAME).first()


def demo_patients() -> list[Patient]:
    programme = demo_programme()
    return list(programme.patients.order_by("pk")) if programme else []


@demo_seeder(order=100)
def seed_demo_reminders() -> dict[str, int]:
    created = {"patient programmes": 0, "patients": 0, "medication plans": 0, "adverse event terms": 0}
    with transaction.atomic():
        created["adverse event terms"] = services.pv_terms_seed_defaults()
        programme = demo_programme()
        if programme is None:
            # Demo patients are reminded around the clock (no quiet hours), so a visitor sees follow-ups at any hour.
            programme = Programme.objects.create(
                name=PROGRAMME_NAME, sponsor="演示制药有限公司", quiet_start=None, quiet_end=None,
                description="2 型糖尿病患者用药依从性支持（演示数据）。",
                template_keys=["dose_reminder", "dose_follow_up", "dose_escalation", "checkup_reminder"],
            )
            ProgrammeConsentText.objects.create(programme=programme, version=CONSENT_VERSION, text=PROGRAMME_TEXT,
                                                health_info_text=HEALTH_TEXT)
            staff_names = [s.username for s in demo_data.STAFF if s.role in (Role.MARKETING, Role.MEDICAL_REVIEWER)]
            programme.staff.add(*User.objects.filter(username__in=staff_names))
            created["patient programmes"] += 1
        doctor = (DoctorProfile.objects.filter(status=DoctorProfile.Status.VERIFIED,
                                               user__username__startswith="demo-doctor-")
                  .select_related("user").order_by("user__username").first())
        doctor_user = doctor.user if doctor and selectors.can_treat_patients(doctor.user) else None
        all_kinds = frozenset({PatientConsent.Kind.PROGRAMME, PatientConsent.Kind.HEALTH_INFORMATION,
                               PatientConsent.Kind.SMS})
        consent = services.ConsentGiven(kinds=all_kinds, text_version=CONSENT_VERSION)
        for name, mobile, birth_date, every, first, drug, dose, with_caregiver in PATIENTS:
            if programme.patients.filter(mobile_hash=lookup_hash(mobile)).exists():
                continue
            caregiver = services.PersonContact(name="陈女士", mobile="+8619900000009") if with_caregiver else None
            patient = services.patient_enrol(
                programme=programme, contact=services.PersonContact(name=name, mobile=mobile), consent=consent,
                method=(Patient.EnrolmentMethod.DOCTOR_PORTAL if doctor_user else Patient.EnrolmentMethod.SELF_QR),
                preferred_channel="sms", birth_date=birth_date, doctor=doctor_user, caregiver=caregiver,
                caregiver_relationship="母亲",
                caregiver_consent=consent if with_caregiver else None,
            )
            if doctor_user is not None:  # plans are the treating doctor's to write
                services.medication_plan_create(
                    patient=patient, schedule=services.PlanSchedule(drug=drug, dose_text=dose,
                                                                    times=_every(every, first),
                                                                    start_date=timezone.localdate()),
                    actor=doctor_user)
                created["medication plans"] += 1
                services.follow_up_plan_create(
                    patient=patient, schedule=services.FollowUpSchedule(title="糖化血红蛋白（HbA1c）",
                                                                        due_date=timezone.localdate(),
                                                                        interval_days=90),
                    actor=doctor_user)
            created["patients"] += 1
    return created

