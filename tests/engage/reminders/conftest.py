"""Fixtures for the reminder tests: a programme with a consent text, a verified doctor, patients enrolled through
the real service, plans, and a broker stand-in that records the gateway's delivery tasks."""

import itertools
from datetime import date

import pytest

from engage.messaging import ratelimit
from engage.reminders import services
from engage.reminders.models import DoseEvent, Patient, PatientConsent, Programme, ProgrammeConsentText
from tests.factories import make_doctor

ADULT_BIRTH_DATE = date(1970, 1, 1)
DEFAULT_KINDS = frozenset({"programme", "health_information", "sms"})
ALL_KINDS = frozenset({"programme", "health_information", "sms", "wechat"})
_mobiles = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_buckets():
    for provider in ("sms", "wechat", "outbox"):
        ratelimit.reset(provider)
    yield


@pytest.fixture
def recorded_deliveries(monkeypatch):
    """The gateway's delivery tasks (`message_deliver`, `messages_deliver` for batches), recorded as a flat list of
    message ids instead of sent to the broker (no worker in unit tests)."""
    from engage.messaging import tasks

    calls: list[int] = []
    monkeypatch.setattr(tasks.message_deliver, "apply_async",
                        lambda args=(), kwargs=None, **kw: calls.append(args[0]))
    monkeypatch.setattr(tasks.messages_deliver, "apply_async",
                        lambda args=(), kwargs=None, **kw: calls.extend(args[0]))
    return calls


@pytest.fixture
def pv_terms(db):
    """The default adverse-event terms (migration 0003 seeds them; a transactional test's flush empties the table)."""
    services.pv_terms_seed_defaults()


@pytest.fixture
def programme(db, pv_terms):
    """A programme with a consent text, no quiet hours, and the default adverse-event terms in the database."""
    programme = Programme.objects.create(name="糖尿病依从性项目", sponsor="某制药", template_keys=["dose_reminder"],
                                         quiet_start=None, quiet_end=None)
    ProgrammeConsentText.objects.create(programme=programme, version="1.0", text="参加项目……",
                                        health_info_text="处理健康信息……")
    return programme


@pytest.fixture
def verified_doctor(db):
    return make_doctor()


def next_mobile() -> str:
    return f"+86139{next(_mobiles):08d}"


@pytest.fixture
def make_patient(programme, verified_doctor):
    """make_patient(time_zone=..., kinds=..., openid=..., preferred_channel=..., quiet=(start, end)) -> Patient
    (an adult; no quiet hours unless given: `quiet` sets them on the patient's programme)"""

    def make(*, mobile: str | None = None, openid: str = "", kinds=DEFAULT_KINDS,
             time_zone: str = "Asia/Shanghai", preferred_channel: str = "sms", quiet=(None, None),
             name: str = "王小明", caregiver: bool = False, prog=None, language: str = "zh-hans",
             birth_date: date = ADULT_BIRTH_DATE) -> Patient:
        cg = services.PersonContact(name="王妈妈", mobile=next_mobile()) if caregiver else None
        consent = services.ConsentGiven(kinds=frozenset(kinds), text_version="1.0")
        patient = services.patient_enrol(
            programme=prog or programme,
            contact=services.PersonContact(name=name, mobile=mobile or next_mobile(), wechat_openid=openid,
                                           language=language),
            consent=consent, method=Patient.EnrolmentMethod.DOCTOR_PORTAL, time_zone=time_zone, birth_date=birth_date,
            preferred_channel=preferred_channel, doctor=verified_doctor, caregiver=cg, caregiver_relationship="母亲",
            caregiver_consent=services.ConsentGiven(kinds=frozenset({"programme", "sms"}), text_version="1.0")
            if caregiver else None,
        )
        if quiet != (None, None):
            Programme.objects.filter(pk=patient.programme_id).update(quiet_start=quiet[0], quiet_end=quiet[1])
        patient.refresh_from_db()
        return patient

    return make


def plan_schedule(times=("08:00",), start=date(2026, 1, 1), **kwargs) -> services.PlanSchedule:
    return services.PlanSchedule(drug=kwargs.pop("drug", "二甲双胍"), dose_text=kwargs.pop("dose_text", "500 mg"),
                                 times=list(times), start_date=start, **kwargs)


@pytest.fixture
def make_plan():
    """make_plan(patient, times=..., start=..., actor=..., <any PlanSchedule field>) -> MedicationPlan"""

    def make(patient, times=("08:00",), start=date(2026, 1, 1), **kwargs):
        actor = kwargs.pop("actor", patient.doctor)
        return services.medication_plan_create(patient=patient, schedule=plan_schedule(times, start, **kwargs),
                                               actor=actor)

    return make


def dose_at(patient, plan, due_at, status=DoseEvent.Status.SCHEDULED, local=None) -> DoseEvent:
    """A dose row directly (tests that are not about materialisation)."""
    local = local or due_at.astimezone(patient.tz)
    return DoseEvent.objects.create(plan=plan, patient=patient, local_date=local.date(),
                                    local_time=local.time().replace(second=0, microsecond=0), due_at=due_at,
                                    status=status)


__all__ = ["ADULT_BIRTH_DATE", "ALL_KINDS", "PatientConsent", "dose_at", "next_mobile", "plan_schedule"]
