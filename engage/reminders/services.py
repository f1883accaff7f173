"""Writes for patients: enrolment with consent, plans, opt-out, dose confirmations, reported values and the
pharmacovigilance queue. The beat's scheduling and sending lives in services_dispatch.py."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.crypto import lookup_hash
from engage.errors import Conflict, DomainError, NotFound, PermissionDenied
from members.phone import normalise_mobile

from .models import (
    Caregiver,
    DoseEvent,
    FollowUpPlan,
    MedicationPlan,
    Patient,
    PatientConsent,
    PharmacovigilanceCase,
    Programme,
    ReportedValue,
    validate_time_zone,
    validate_times_of_day,
)

GUARDIAN_AGE = 14  # PIPL art. 31: personal information of a minor under 14 needs a guardian's consent
CONFIRM_WINDOW = timedelta(hours=2)  # a reply confirms a dose at most this long after it fell due
EARLY_CONFIRM = timedelta(hours=1)  # the patient page may confirm a dose this long before it is due
REQUIRED_KINDS = frozenset({PatientConsent.Kind.PROGRAMME, PatientConsent.Kind.HEALTH_INFORMATION})


@dataclass(frozen=True)
class PersonContact:
    """How to reach a patient or caregiver. `mobile` in any form `normalise_mobile` accepts."""

    name: str
    mobile: str = ""
    wechat_openid: str = ""
    language: str = "zh-hans"


@dataclass(frozen=True)
class ConsentGiven:
    """The consent kinds a person ticked, against the consent text version they were shown."""

    kinds: frozenset[str] = field(default_factory=frozenset)
    text_version: str = ""


def _clean_contact(contact: PersonContact, *, who: str) -> tuple[str, str, str]:
    name = (contact.name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("name_required", _("Enter the %(who)s's name (at most 100 characters).") % {"who": who})
    mobile = ""
    if contact.mobile:
        try:
            mobile = normalise_mobile(contact.mobile)
        except ValidationError as exc:
            raise DomainError("invalid_mobile", exc.messages[0]) from exc
    openid = (contact.wechat_openid or "").strip()
    if len(openid) > 64:
        raise DomainError("invalid_openid", _("That is not a WeChat openid."))
    return name, mobile, openid


def _consent_rows(*, patient, caregiver, consent: ConsentGiven, method: str, now, actor, guardian_name: str = ""):
    return [
        PatientConsent(patient=patient, caregiver=caregiver, kind=kind, text_version=consent.text_version,
                       method=method, given_at=now, guardian_name=guardian_name,
                       recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
        for kind in sorted(consent.kinds)
    ]


def is_verified_doctor(user) -> bool:
    from engage.roles import Role, has_role
    from members.selectors import AccessLevel, access_level_of

    return has_role(user, Role.DOCTOR) and access_level_of(user) >= AccessLevel.VERIFIED


def patient_enrol(
    *,
    programme: Programme,
    contact: PersonContact,
    consent: ConsentGiven,
    method: str,
    time_zone: str = "Asia/Shanghai",
    preferred_channel: str = "wechat",
    birth_date: date | None = None,
    doctor=None,
    caregiver: PersonContact | None = None,
    caregiver_relationship: str = "",
    caregiver_consent: ConsentGiven | None = None,
) -> Patient:
    """Enrols a patient with their consent rows (and their caregiver's). Refused, with nothing written, without
    programme and health-information consent to the current text version, without a channel the patient
    consented to, or for a patient under 14 without a consenting guardian. By the doctor portal, `doctor` is the
    treating doctor and must be verified."""
    now = timezone.now()
    if not programme.is_active:
        raise DomainError("programme_closed", _("This programme does not accept new patients."))
    if method == Patient.EnrolmentMethod.DOCTOR_PORTAL and not is_verified_doctor(doctor):
        raise PermissionDenied("doctor_not_verified", _("Only verified doctors can enrol patients."))
    text = programme.current_consent_text()
    if text is None:
        raise DomainError("consent_text_missing", _("This programme has no consent text yet."))
    if consent.text_version != text.version:
        raise DomainError("consent_version_outdated",
                          _("The consent text has changed. Please read the current version and agree again."))
    if not REQUIRED_KINDS <= set(consent.kinds):
        raise DomainError(
            "consent_required",
            _("Enrolment needs the patient's consent to the programme and, separately, to the processing of "
              "their health information."),
        )
    name, mobile, openid = _clean_contact(contact, who=_("patient"))
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise DomainError("invalid_time_zone", exc.messages[0]) from exc
    reachable = (mobile and PatientConsent.Kind.SMS in consent.kinds) or (
        openid and PatientConsent.Kind.WECHAT in consent.kinds)
    if not reachable:
        raise DomainError("no_channel", _("Give a mobile number with consent to SMS reminders, or a WeChat account "
                                          "with consent to WeChat reminders."))
    if birth_date and birth_date > now.date():
        raise DomainError("invalid_birth_date", _("The birth date is in the future."))
    minor = birth_date is not None and _age(birth_date, now.date()) < GUARDIAN_AGE
    cg_name = cg_mobile = cg_openid = ""
    if caregiver is not None:
        cg_name, cg_mobile, cg_openid = _clean_contact(caregiver, who=_("caregiver"))
        if caregiver_consent is None or caregiver_consent.text_version != text.version or (
            PatientConsent.Kind.PROGRAMME not in caregiver_consent.kinds
        ):
            raise DomainError("caregiver_consent_required",
                              _("The caregiver must agree to the programme before they can be contacted."))
    if minor and (caregiver is None or not REQUIRED_KINDS <= set(caregiver_consent.kinds)):
        raise DomainError(
            "guardian_required",
            _("Patients under 14 are enrolled by a guardian: add the guardian as caregiver with their consent to "
              "the programme and to the processing of the child's health information."),
        )

    with transaction.atomic():
        patient = Patient(
            programme=programme, name=name, mobile=mobile, mobile_hash=lookup_hash(mobile),
            wechat_openid=openid, openid_hash=lookup_hash(openid), time_zone=time_zone,
            preferred_channel=preferred_channel, language=contact.language, birth_date=birth_date,
            doctor=doctor, enrolment_method=method,
        )
        try:
            with transaction.atomic():
                patient.save()
        except IntegrityError as exc:
            raise Conflict("already_enrolled", _("This mobile number is already enrolled in the programme.")) from exc
        guardian_name = cg_name if minor else ""
        rows = _consent_rows(patient=patient, caregiver=None, consent=consent, method=method, now=now, actor=doctor,
                             guardian_name=guardian_name)
        if caregiver is not None:
            cg = Caregiver.objects.create(
                patient=patient, name=cg_name, relationship=caregiver_relationship[:50], is_guardian=minor,
                mobile=cg_mobile, mobile_hash=lookup_hash(cg_mobile), wechat_openid=cg_openid,
                openid_hash=lookup_hash(cg_openid), language=caregiver.language,
            )
            rows += _consent_rows(patient=patient, caregiver=cg, consent=caregiver_consent, method=method, now=now,
                                  actor=doctor)
        PatientConsent.objects.bulk_create(rows)
        audit_log(
            actor=doctor, action="reminders.patient_enrol", obj=patient,
            after={"programme": programme.pk, "method": method, "consents": sorted(consent.kinds),
                   "text_version": text.version, "caregiver": caregiver is not None, "minor": minor},
        )
    return patient


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def consent_withdraw(*, patient: Patient, kind: str, caregiver: Caregiver | None = None, actor=None) -> int:
    """Withdraws the active consent of `kind`. Without programme or health-information consent nothing more is
    sent: open and scheduled doses are cancelled."""
    now = timezone.now()
    with transaction.atomic():
        count = PatientConsent.objects.filter(patient=patient, caregiver=caregiver, kind=kind,
                                              withdrawn_at__isnull=True).update(withdrawn_at=now)
        if caregiver is None and kind in REQUIRED_KINDS:
            _cancel_future(patient, now=now, reason="consent_withdrawn")
        audit_log(actor=actor, action="reminders.consent_withdraw", obj=patient,
                  after={"kind": kind, "caregiver": caregiver is not None, "withdrawn": count})
    return count


def _cancel_future(patient: Patient, *, now, reason: str) -> int:
    return DoseEvent.objects.filter(patient=patient, status=DoseEvent.Status.SCHEDULED).update(
        status=DoseEvent.Status.CANCELLED, status_reason=reason, updated_at=now)


def patient_opt_out(*, patients: list[Patient], source: str, actor=None) -> int:
    """Stops every future message to these patients at once: scheduled doses are cancelled, and the dispatcher
    skips opted-out patients at pick time as well. Idempotent."""
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        for patient in Patient.objects.select_for_update().filter(pk__in=[p.pk for p in patients]):
            _cancel_future(patient, now=now, reason="opted_out")
            if patient.opted_out_at is None:
                patient.opted_out_at = now
                patient.save(update_fields=["opted_out_at"])
                changed += 1
                audit_log(actor=actor, action="reminders.patient_opt_out", obj=patient, after={"source": source})
    return changed


def patient_opt_in(*, patients: list[Patient], source: str) -> int:
    """An explicit opt-in (e.g. SMS START) resumes reminders from now on; missed slots are not replayed."""
    now = timezone.now()
    with transaction.atomic():
        count = 0
        for patient in Patient.objects.select_for_update().filter(pk__in=[p.pk for p in patients],
                                                                   opted_out_at__isnull=False):
            patient.opted_out_at = None
            patient.save(update_fields=["opted_out_at"])
            MedicationPlan.objects.filter(patient=patient).update(materialised_until=now)
            audit_log(actor=None, action="reminders.patient_opt_in", obj=patient, after={"source": source})
            count += 1
    return count


def caregiver_opt_out(*, caregivers: list[Caregiver], source: str) -> int:
    now = timezone.now()
    count = Caregiver.objects.filter(pk__in=[c.pk for c in caregivers], opted_out_at__isnull=True).update(
        opted_out_at=now)
    for cg in caregivers:
        audit_log(actor=None, action="reminders.caregiver_opt_out", obj=cg, after={"source": source})
    return count


# --- Plans ------------------------------------------------------------------------------------------------


def medication_plan_create(
    *,
    patient: Patient,
    drug: str,
    dose_text: str,
    times: list[str],
    start_date: date,
    schedule_kind: str = MedicationPlan.ScheduleKind.DAILY,
    weekdays: list[int] | None = None,
    interval_days: int = 1,
    cycle: tuple[int, int] | None = None,
    end_date: date | None = None,
    as_needed: bool = False,
    actor=None,
) -> MedicationPlan:
    """Adds a plan; its dose events appear on the next beat tick (48 hours ahead)."""
    plan = MedicationPlan(
        patient=patient, drug=drug.strip()[:200], dose_text=dose_text.strip()[:200],
        times=sorted({t.strip() for t in times}), schedule_kind=schedule_kind, weekdays=sorted(set(weekdays or [])),
        interval_days=interval_days, start_date=start_date, end_date=end_date, as_needed=as_needed,
        cycle_active_days=cycle[0] if cycle else None, cycle_pause_days=cycle[1] if cycle else None,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if not plan.drug or not plan.dose_text:
        raise DomainError("plan_incomplete", _("Enter the drug and the dose."))
    if not as_needed:
        try:
            validate_times_of_day(plan.times)
        except ValidationError as exc:
            raise DomainError("invalid_times", exc.messages[0]) from exc
    else:
        plan.times = plan.times or []
    if end_date and end_date < start_date:
        raise DomainError("invalid_dates", _("The end date is before the start date."))
    if schedule_kind == MedicationPlan.ScheduleKind.WEEKDAYS and (
        not plan.weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in plan.weekdays)
    ):
        raise DomainError("invalid_weekdays", _("Choose at least one weekday."))
    if not 1 <= interval_days <= 365 or (cycle and (min(cycle) < 1 or max(cycle) > 365)):
        raise DomainError("invalid_interval", _("Intervals and cycles are between 1 and 365 days."))
    with transaction.atomic():
        plan.save()
        audit_log(actor=actor, action="reminders.plan_create", obj=plan,
                  after={"patient": patient.pk, "times": plan.times, "schedule": schedule_kind})
    return plan


def medication_plan_stop(*, plan: MedicationPlan, actor=None) -> MedicationPlan:
    now = timezone.now()
    with transaction.atomic():
        plan.is_active = False
        plan.save(update_fields=["is_active"])
        plan.doses.filter(status=DoseEvent.Status.SCHEDULED).update(
            status=DoseEvent.Status.CANCELLED, status_reason="plan_stopped", updated_at=now)
        audit_log(actor=actor, action="reminders.plan_stop", obj=plan)
    return plan


def follow_up_plan_create(*, patient: Patient, title: str, first_date: date, interval_months: int | None = None,
                          actor=None) -> FollowUpPlan:
    if not title.strip():
        raise DomainError("plan_incomplete", _("Name the check-up."))
    if interval_months is not None and not 1 <= interval_months <= 24:
        raise DomainError("invalid_interval", _("Repeat every 1 to 24 months."))
    with transaction.atomic():
        plan = FollowUpPlan.objects.create(patient=patient, title=title.strip()[:200], next_due_date=first_date,
                                           interval_months=interval_months)
        audit_log(actor=actor, action="reminders.follow_up_plan_create", obj=plan)
    return plan


# --- Confirmations ----------------------------------------------------------------------------------------


@dataclass
class ReplyMatch:
    outcome: str  # "confirmed", "none", "ambiguous"
    doses: list[DoseEvent]


def dose_confirm_by_reply(*, patients: list[Patient], status: str, via: str, now: datetime | None = None
                          ) -> ReplyMatch:
    """A reply ("1", "已服") confirms the one open dose inside its window: of the doses whose reminder went out
    in the last CONFIRM_WINDOW, the most recent. Several doses due at that same instant are ambiguous and
    nothing changes; so does no open dose."""
    now = now or timezone.now()
    with transaction.atomic():
        open_doses = list(
            DoseEvent.objects.select_for_update(of=("self",))
            .filter(patient__in=patients, status__in=DoseEvent.OPEN, due_at__gt=now - CONFIRM_WINDOW,
                    due_at__lte=now)
            .select_related("plan").order_by("-due_at", "-id")
        )
        if not open_doses:
            return ReplyMatch("none", [])
        latest = [d for d in open_doses if d.due_at == open_doses[0].due_at]
        if len(latest) > 1:
            return ReplyMatch("ambiguous", latest)
        dose = latest[0]
        _mark(dose, status=status, via=via, now=now)
    return ReplyMatch("confirmed", [dose])


def _mark(dose: DoseEvent, *, status: str, via: str, now) -> None:
    before = dose.status
    dose.status = status
    dose.confirmed_at = now
    dose.confirmed_via = via
    dose.save(update_fields=["status", "confirmed_at", "confirmed_via", "updated_at"])
    audit_log(actor=None, action="reminders.dose_confirm", obj=dose, before={"status": before},
              after={"status": status, "via": via})


def dose_confirm_on_page(*, patient: Patient, dose_id: int, taken: bool, now: datetime | None = None) -> DoseEvent:
    """The patient page's buttons. A dose may be confirmed from an hour before it is due; a missed one later on
    (it then counts as taken, not taken on time). Repeating the same answer is harmless."""
    now = now or timezone.now()
    status = DoseEvent.Status.TAKEN if taken else DoseEvent.Status.SKIPPED
    with transaction.atomic():
        dose = (DoseEvent.objects.select_for_update().filter(pk=dose_id, patient=patient).first())
        if dose is None:
            raise NotFound("dose_not_found", _("No such dose."))
        if dose.status == status:
            return dose
        confirmable = set(DoseEvent.OPEN) | {DoseEvent.Status.MISSED}
        if dose.status == DoseEvent.Status.SCHEDULED and dose.due_at - EARLY_CONFIRM <= now:
            confirmable.add(DoseEvent.Status.SCHEDULED)
        if dose.status not in confirmable:
            raise Conflict("dose_not_open", _("This dose cannot be confirmed now."))
        _mark(dose, status=status, via="page", now=now)
    return dose


def dose_outcome_apply(*, sent_at: dict[int, datetime | None]) -> int:
    """The gateway's outcome handler: the reminders {message id: time sent} of queued doses went out, so those doses
    are `sent` (one UPDATE for the lot)."""
    if not sent_at:
        return 0
    now = timezone.now()
    when = Case(*[When(message_id=pk, then=Value(at or now)) for pk, at in sent_at.items()],
                default=Value(now), output_field=DateTimeField())
    return DoseEvent.objects.filter(message_id__in=list(sent_at), status=DoseEvent.Status.QUEUED).update(
        status=DoseEvent.Status.SENT, sent_at=when, updated_at=now)


# --- Reported values and pharmacovigilance ----------------------------------------------------------------

GLUCOSE_MMOL_RANGE = (Decimal("1.0"), Decimal("35.0"))
MGDL_PER_MMOL = Decimal("18.016")  # glucose, 180.16 g/mol
UNITS = {"mmol/l": "mmol/L", "mmol": "mmol/L", "mg/dl": "mg/dL", "mg": "mg/dL"}


def reported_value_record(*, patient: Patient, kind: str, value: str | Decimal, unit: str, source: str,
                          note: str = "", measured_at: datetime | None = None) -> ReportedValue:
    """Stores a blood glucose in mmol/L (mg/dL is converted). Values outside 1.0–35.0 mmol/L are refused as
    implausible (a typo or a unit mix-up), nothing is stored."""
    if kind != ReportedValue.Kind.BLOOD_GLUCOSE:
        raise DomainError("unknown_value_kind", _("Only blood glucose can be reported."))
    unit_key = (unit or "mmol/L").strip().lower().replace(" ", "")
    canonical_unit = UNITS.get(unit_key)
    if canonical_unit is None:
        raise DomainError("unknown_unit", _("Give blood glucose in mmol/L or mg/dL."))
    try:
        original = Decimal(str(value).replace(",", ".")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise DomainError("invalid_value", _("That is not a number.")) from None
    if not original.is_finite():
        raise DomainError("invalid_value", _("That is not a number."))
    mmol = original if canonical_unit == "mmol/L" else (original / MGDL_PER_MMOL)
    mmol = mmol.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    low, high = GLUCOSE_MMOL_RANGE
    if not low <= mmol <= high:
        raise DomainError(
            "implausible_value",
            _("%(value)s %(unit)s is not a plausible blood glucose (1.0–35.0 mmol/L, 18–630 mg/dL). "
              "Please check the number and the unit.") % {"value": original, "unit": canonical_unit},
        )
    note = (note or "").strip()[:2000]
    with transaction.atomic():
        row = ReportedValue.objects.create(
            patient=patient, kind=kind, value=mmol, unit="mmol/L", original_value=original,
            original_unit=canonical_unit, note=note, source=source, measured_at=measured_at or timezone.now(),
        )
        if note:
            pv_case_open_if_needed(patient=patient, text=note, source=source, source_key=f"value:{row.pk}")
    return row


PV_KEYWORDS = (
    "不良反应", "副作用", "过敏", "皮疹", "红疹", "瘙痒", "头晕", "头痛", "恶心", "呕吐", "腹泻", "腹痛", "低血糖",
    "心慌", "心悸", "呼吸困难", "水肿", "晕倒", "昏迷", "住院", "黄疸",
    "side effect", "adverse", "reaction", "rash", "allergy", "allergic", "itch", "dizzy", "dizziness",
    "nausea", "vomit", "diarrhea", "diarrhoea", "hypoglycemia", "hypoglycaemia", "headache", "swelling",
    "faint", "hospital",
)


def pv_keywords_in(text: str) -> list[str]:
    lowered = (text or "").lower()
    return [kw for kw in PV_KEYWORDS if kw in lowered]


def pv_case_open_if_needed(*, patient: Patient, text: str, source: str, source_key: str = ""
                           ) -> PharmacovigilanceCase | None:
    """Queues free text that mentions a possible adverse reaction for medical staff; once per source."""
    matched = pv_keywords_in(text)
    if not matched:
        return None
    key = source_key or f"{source}:{uuid.uuid4().hex}"
    with transaction.atomic():
        case, created = PharmacovigilanceCase.objects.get_or_create(
            source_key=key,
            defaults={"patient": patient, "text": text[:4000], "matched_keywords": matched, "source": source},
        )
        if created:
            audit_log(actor=None, action="reminders.pv_case_open", obj=case, after={"keywords": matched})
    return case


GLUCOSE_RE = re.compile(
    r"(?:血糖|bg|glucose|sugar)\s*[:：=]?\s*(?P<value>\d{1,5}(?:[.,]\d{1,3})?)\s*(?P<unit>mmol/?l|mg/?dl)?",
    re.IGNORECASE,
)


def parse_glucose(text: str) -> tuple[str, str] | None:
    """"血糖 7.8" / "BG 140 mg/dL" -> (value, unit). A bare number is not a glucose (it could be "1")."""
    match = GLUCOSE_RE.search(text or "")
    if not match:
        return None
    unit = (match.group("unit") or "").lower().replace("/", "")
    unit = {"mmoll": "mmol/L", "mgdl": "mg/dL"}.get(unit, "mmol/L")
    return match.group("value"), unit


def pv_case_review(*, case: PharmacovigilanceCase, status: str, notes: str, actor) -> PharmacovigilanceCase:
    """Medical staff move a case along (in review, reported to safety, closed), with their notes; audited."""
    if status not in PharmacovigilanceCase.Status.values:
        raise DomainError("invalid_status", _("Unknown status."))
    with transaction.atomic():
        case = PharmacovigilanceCase.objects.select_for_update().get(pk=case.pk)
        before = {"status": case.status}
        case.status, case.review_notes, case.reviewed_by = status, notes[:4000], actor
        case.save(update_fields=["status", "review_notes", "reviewed_by", "updated_at"])
        audit_log(actor=actor, action="reminders.pv_case_review", obj=case, before=before, after={"status": status})
    return case
