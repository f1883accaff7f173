"""Writes for patients: enrolment with consent, plans, opt-out, dose confirmations, reported values and the
pharmacovigilance queue; the beat tick (materialise dose events, send due reminders exactly once, follow up,
escalate, mark missed); and what a patient's reply does."""

import logging
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Case, DateTimeField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.crypto import lookup_hash
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.jobs import enqueue_on_commit
from engage.core.prepared import planned_cursor
from engage.core.roles import Capability, can
from engage.messaging.services import MessageSpec, message_enqueue, messages_deliver_now, messages_enqueue_many
from engage.reminders.models import (
    DEFAULT_PV_TERMS,
    AdverseEventTerm,
    Caregiver,
    Channel,
    DoseEvent,
    FollowUpPlan,
    MedicationPlan,
    Patient,
    PatientConsent,
    PharmacovigilanceCase,
    Programme,
    ReportedValue,
    validate_taper_steps,
    validate_time_zone,
    validate_times_of_day,
)
from engage.reminders.parsing import compact_text, parse_glucose, pv_phrase_key, pv_terms_found
from engage.reminders.selectors import (
    CONFIRM_WINDOW,
    EARLY_CONFIRM,
    can_edit_plans,
    can_treat_patients,
    patient_link,
)
from members.accounts.phone import normalise_mobile

GUARDIAN_AGE = 14  # PIPL art. 31: personal information of a minor under 14 needs a guardian's consent
MAX_AGE = 130  # an older birth date is a typing error
Kind = PatientConsent.Kind
REQUIRED_KINDS = frozenset({Kind.PROGRAMME, Kind.HEALTH_INFORMATION})


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
    consented to, without a birth date, or for a patient under 14 without a consenting guardian: every way of
    enrolling (doctor portal, programme QR, demo) comes through here. By the doctor portal, `doctor` is the
    treating doctor and must be verified."""
    now = timezone.now()
    if not programme.is_active:
        raise DomainError("programme_closed", _("This programme does not accept new patients."))
    if method == Patient.EnrolmentMethod.DOCTOR_PORTAL and not can_treat_patients(doctor):
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
    if birth_date is None:
        raise DomainError("birth_date_required",
                          _("Enter the patient's birth date: patients under 14 are enrolled by a guardian."))
    if birth_date > now.date():
        raise DomainError("invalid_birth_date", _("The birth date is in the future."))
    if _age(birth_date, now.date()) > MAX_AGE:
        raise DomainError("invalid_birth_date", _("Please check the birth date."))
    minor = _age(birth_date, now.date()) < GUARDIAN_AGE
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


@dataclass(frozen=True)
class TaperStep:
    """One step of a tapering plan: `dose` (e.g. "4 片") taken for `days` days."""

    dose: str
    days: int


@dataclass(frozen=True)
class PlanSchedule:
    """What a medication plan says: the drug, the dose (or taper steps) and when. `times` are local HH:MM."""

    drug: str
    dose_text: str
    times: list[str]
    start_date: date
    schedule_kind: str = MedicationPlan.ScheduleKind.DAILY
    weekdays: list[int] | None = None
    interval_days: int = 1
    cycle: tuple[int, int] | None = None
    end_date: date | None = None
    as_needed: bool = False
    taper: list[TaperStep] | None = None


def _require_treating_doctor(actor, patient: Patient) -> None:
    """The one check of every plan and follow-up write: the actor is the patient's verified treating doctor."""
    if not can_edit_plans(actor, patient):
        raise PermissionDenied("not_treating_doctor",
                               _("Only the patient's treating doctor, once verified, may add or change their plans."))


def _plan_apply(plan: MedicationPlan, schedule: PlanSchedule) -> None:
    """Writes `schedule` onto the (unsaved) plan, or raises DomainError when it is incomplete or inconsistent."""
    s = schedule
    steps = [{"dose": (step.dose or "").strip(), "days": step.days} for step in (s.taper or [])]
    try:
        validate_taper_steps(steps)
    except ValidationError as exc:
        raise DomainError("invalid_taper", exc.messages[0]) from exc
    if steps and s.as_needed:
        raise DomainError("invalid_taper", _("An as-needed plan has no taper steps."))
    dose_text = (s.dose_text or "").strip() or " → ".join(step["dose"] for step in steps)
    plan.drug, plan.dose_text = (s.drug or "").strip()[:200], dose_text[:200]
    plan.times = sorted({t.strip() for t in s.times})
    plan.schedule_kind, plan.weekdays = s.schedule_kind, sorted(set(s.weekdays or []))
    plan.interval_days, plan.start_date, plan.end_date, plan.as_needed = (s.interval_days, s.start_date, s.end_date,
                                                                          s.as_needed)
    plan.cycle_active_days, plan.cycle_pause_days = s.cycle if s.cycle else (None, None)
    plan.taper_steps = steps
    if not plan.drug or not plan.dose_text:
        raise DomainError("plan_incomplete", _("Enter the drug and the dose."))
    if s.schedule_kind not in MedicationPlan.ScheduleKind.values:
        raise DomainError("invalid_schedule", _("Unknown schedule."))
    if not s.as_needed:
        try:
            validate_times_of_day(plan.times)
        except ValidationError as exc:
            raise DomainError("invalid_times", exc.messages[0]) from exc
    if steps:  # a tapering plan ends with its last step
        plan.end_date = s.start_date + timedelta(days=plan.taper_days() - 1)
    if plan.end_date and plan.end_date < s.start_date:
        raise DomainError("invalid_dates", _("The end date is before the start date."))
    if s.schedule_kind == MedicationPlan.ScheduleKind.WEEKDAYS and (
        not plan.weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in plan.weekdays)
    ):
        raise DomainError("invalid_weekdays", _("Choose at least one weekday."))
    if not 1 <= s.interval_days <= 365 or (s.cycle and (min(s.cycle) < 1 or max(s.cycle) > 365)):
        raise DomainError("invalid_interval", _("Intervals and cycles are between 1 and 365 days."))


def _plan_state(plan: MedicationPlan) -> dict:
    return {"drug": plan.drug, "dose": plan.dose_text, "times": plan.times, "schedule": plan.schedule_kind,
            "start": str(plan.start_date), "end": str(plan.end_date) if plan.end_date else None,
            "taper": plan.taper_steps, "active": plan.is_active, "paused": plan.paused_at is not None}


def medication_plan_create(*, patient: Patient, schedule: PlanSchedule, actor) -> MedicationPlan:
    """Adds a plan for `actor`, who must be the patient's treating doctor and verified; its dose events appear on
    the next beat tick (48 hours ahead)."""
    _require_treating_doctor(actor, patient)
    plan = MedicationPlan(patient=patient, created_by=actor)
    _plan_apply(plan, schedule)
    with transaction.atomic():
        plan.save()
        audit_log(actor=actor, action="reminders.plan_create", obj=plan,
                  after={"patient": patient.pk, **_plan_state(plan)})
    return plan


def _plan_locked(plan: MedicationPlan, actor, *, active: bool = True) -> MedicationPlan:
    """The plan's row, locked for the rest of the transaction (the materialiser takes the same lock), once `actor`
    is known to be the treating doctor; a stopped plan is refused when `active`."""
    locked = (MedicationPlan.objects.select_for_update(of=("self",))
              .select_related("patient", "patient__programme").get(pk=plan.pk))
    _require_treating_doctor(actor, locked.patient)
    if active and not locked.is_active:
        raise Conflict("plan_stopped", _("This plan has been stopped; add a new plan instead."))
    return locked


def _cancel_scheduled(plan: MedicationPlan, *, now, reason: str, due_from: datetime | None = None) -> int:
    """Cancels the plan's dose events still `scheduled` (due from `due_from` on). A dose the dispatcher has locked
    is waited for and then no longer matches: queued, sent and confirmed doses are never changed."""
    doses = plan.doses.filter(status=DoseEvent.Status.SCHEDULED)
    if due_from is not None:
        doses = doses.filter(due_at__gte=due_from)
    return doses.update(status=DoseEvent.Status.CANCELLED, status_reason=reason, updated_at=now)


def _plan_rematerialise(plan: MedicationPlan, *, now) -> int:
    """The dose events of the (locked) plan from now to the horizon, when it is reminded at all."""
    patient = plan.patient
    if plan.paused_at or plan.as_needed or patient.opted_out_at or not patient.programme.is_active:
        MedicationPlan.objects.filter(pk=plan.pk).update(materialised_until=now)
        return 0
    return _plan_materialise(plan, start=now, end=now + HORIZON)


def medication_plan_update(*, plan: MedicationPlan, schedule: PlanSchedule, actor) -> MedicationPlan:
    """Replaces what the plan says from now on. Its dose events still `scheduled` and due from now are cancelled and
    computed again from the new schedule (with each day's taper dose); events queued, sent or confirmed, and past
    ones, are never changed, and a slot one of them holds gets no second event. Audited with before and after."""
    now = timezone.now()
    with transaction.atomic():
        plan = _plan_locked(plan, actor)
        before = _plan_state(plan)
        _plan_apply(plan, schedule)
        plan.save()
        cancelled = _cancel_scheduled(plan, now=now, reason="plan_changed", due_from=now)
        created = _plan_rematerialise(plan, now=now)
        audit_log(actor=actor, action="reminders.plan_update", obj=plan, before=before,
                  after={**_plan_state(plan), "cancelled": cancelled, "created": created})
    return plan


def medication_plan_pause(*, plan: MedicationPlan, actor) -> MedicationPlan:
    """No more reminders until resumed: every still-scheduled dose event is cancelled. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        plan = _plan_locked(plan, actor)
        if plan.paused_at is None:
            plan.paused_at = now
            plan.save(update_fields=["paused_at"])
            cancelled = _cancel_scheduled(plan, now=now, reason="plan_paused")
            audit_log(actor=actor, action="reminders.plan_pause", obj=plan, after={"cancelled": cancelled})
    return plan


def medication_plan_resume(*, plan: MedicationPlan, actor) -> MedicationPlan:
    """Reminders again from now on; the slots of the pause are not replayed. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        plan = _plan_locked(plan, actor)
        if plan.paused_at is not None:
            paused_since, plan.paused_at = plan.paused_at, None
            plan.save(update_fields=["paused_at"])
            created = _plan_rematerialise(plan, now=now)
            audit_log(actor=actor, action="reminders.plan_resume", obj=plan,
                      before={"paused_at": paused_since.isoformat()}, after={"created": created})
    return plan


def medication_plan_stop(*, plan: MedicationPlan, actor) -> MedicationPlan:
    """Ends the plan for good: every still-scheduled dose event is cancelled. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        plan = _plan_locked(plan, actor, active=False)
        if plan.is_active:
            plan.is_active = False
            plan.save(update_fields=["is_active"])
            cancelled = _cancel_scheduled(plan, now=now, reason="plan_stopped")
            audit_log(actor=actor, action="reminders.plan_stop", obj=plan, after={"cancelled": cancelled})
    return plan


@dataclass(frozen=True)
class FollowUpSchedule:
    """A check-up: its title, the (next) date it is due and, for a repeating one, every N days or N months."""

    title: str
    due_date: date
    interval_days: int | None = None
    interval_months: int | None = None
    remind_at: time | None = None


def _follow_up_apply(plan: FollowUpPlan, schedule: FollowUpSchedule) -> None:
    s = schedule
    title = (s.title or "").strip()
    if not title or len(title) > 200:
        raise DomainError("plan_incomplete", _("Name the check-up."))
    if not isinstance(s.due_date, date):
        raise DomainError("invalid_dates", _("Give the date the check-up is due."))
    if s.interval_days is not None and s.interval_months is not None:
        raise DomainError("invalid_interval", _("Repeat every N days or every N months, not both."))
    if s.interval_months is not None and not 1 <= s.interval_months <= 24:
        raise DomainError("invalid_interval", _("Repeat every 1 to 24 months."))
    if s.interval_days is not None and not 1 <= s.interval_days <= 730:
        raise DomainError("invalid_interval", _("Repeat every 1 to 730 days."))
    plan.title, plan.next_due_date = title, s.due_date
    plan.interval_days, plan.interval_months = s.interval_days, s.interval_months
    plan.remind_at = s.remind_at or plan.remind_at


def _follow_up_state(plan: FollowUpPlan) -> dict:
    return {"title": plan.title, "due": str(plan.next_due_date), "every_days": plan.interval_days,
            "every_months": plan.interval_months, "remind_at": f"{plan.remind_at:%H:%M}", "active": plan.is_active}


def follow_up_plan_create(*, patient: Patient, schedule: FollowUpSchedule, actor) -> FollowUpPlan:
    """Adds a check-up reminder (HbA1c every 90 days, a one-off visit) for `actor`, the verified treating doctor."""
    _require_treating_doctor(actor, patient)
    plan = FollowUpPlan(patient=patient, created_by=actor)
    _follow_up_apply(plan, schedule)
    with transaction.atomic():
        plan.save()
        audit_log(actor=actor, action="reminders.follow_up_plan_create", obj=plan,
                  after={"patient": patient.pk, **_follow_up_state(plan)})
    return plan


def follow_up_plan_update(*, plan: FollowUpPlan, schedule: FollowUpSchedule, is_active: bool = True,
                          actor) -> FollowUpPlan:
    """Changes a check-up (or stops it with `is_active` False), under the row lock the check-up tick takes: a
    reminder already sent for a date is not sent again for it."""
    with transaction.atomic():
        plan = FollowUpPlan.objects.select_for_update(of=("self",)).select_related("patient").get(pk=plan.pk)
        _require_treating_doctor(actor, plan.patient)
        before = _follow_up_state(plan)
        _follow_up_apply(plan, schedule)
        plan.is_active = is_active
        plan.save()
        audit_log(actor=actor, action="reminders.follow_up_plan_update", obj=plan, before=before,
                  after=_follow_up_state(plan))
    return plan


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


# Hand-written on PostgreSQL: the ORM's CASE WHEN per row (bulk_update, a Case of 100 Whens) spent more time
# building and compiling the expression than the database took to run it. One text each, planned once.
LINK_MESSAGES_SQL = (
    'UPDATE "reminders_doseevent" AS d SET "message_id" = v.message_id, "updated_at" = %s '
    "FROM unnest(%s::int8[], %s::int8[]) AS v(id, message_id) WHERE d.\"id\" = v.id"
)
# By message_id = ANY (the generic plan of a join to unnest scanned the whole table), the status check inside
# `( … ) IS TRUE` so that no status index can serve it: with the statistics behind a burst's statuses the planner
# otherwise scanned the open doses' partial index (25,000 entries) for every 100 reminders sent.
DOSES_SENT_SQL = (
    'UPDATE "reminders_doseevent" AS d SET "status" = %s, '
    '"sent_at" = COALESCE((%s::timestamptz[])[array_position(%s::int8[], d."message_id")], %s), "updated_at" = %s '
    'WHERE d."message_id" = ANY(%s::int8[]) AND (d."status" = %s) IS TRUE'
)


def _link_messages(doses: list[DoseEvent], now: datetime) -> None:
    """Writes each dose's `message_id` (set on the instances) in one statement."""
    if not doses:
        return
    if connection.vendor != "postgresql":
        DoseEvent.objects.bulk_update(doses, ["message", "updated_at"], batch_size=1000)
        return
    with planned_cursor(connection) as cursor:
        cursor.execute(LINK_MESSAGES_SQL, [now, [d.pk for d in doses], [d.message_id for d in doses]])


def dose_outcome_apply(*, sent_at: dict[int, datetime | None]) -> int:
    """The gateway's outcome handler: the reminders {message id: time sent} of queued doses went out, so those doses
    are `sent` (one UPDATE for the lot)."""
    if not sent_at:
        return 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        with planned_cursor(connection) as cursor:
            ids = list(sent_at)
            cursor.execute(DOSES_SENT_SQL, [DoseEvent.Status.SENT, list(sent_at.values()), ids, now, now, ids,
                                            DoseEvent.Status.QUEUED])
            return cursor.rowcount
    when = Case(*[When(message_id=pk, then=Value(at or now)) for pk, at in sent_at.items()],
                default=Value(now), output_field=DateTimeField())
    return DoseEvent.objects.filter(message_id__in=list(sent_at), status=DoseEvent.Status.QUEUED).update(
        status=DoseEvent.Status.SENT, sent_at=when, updated_at=now)


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


PV_REVIEW_WINDOW = timedelta(hours=24)  # default of settings.REMINDERS_PV_REVIEW_WINDOW: first review after receipt


def _pv_terms() -> list[AdverseEventTerm]:
    return list(AdverseEventTerm.objects.filter(is_active=True).order_by("language", "term"))


def pv_keywords_in(text: str, terms: list[AdverseEventTerm] | None = None) -> list[str]:
    """The active adverse-event terms `text` mentions (by the term or a synonym) and does not deny."""
    terms = _pv_terms() if terms is None else terms
    return pv_terms_found(text, {t.term: t.phrases() for t in terms})


def _pv_medication(patient: Patient, text: str) -> tuple[MedicationPlan | None, str]:
    """The plan whose drug the text names; else the patient's one active medication; else all of them, no plan."""
    plans = list(patient.plans.filter(is_active=True).order_by("-created_at", "-id"))
    words = compact_text(text)
    named = [p for p in plans if compact_text(p.drug) and compact_text(p.drug) in words]
    if named:
        return named[0], named[0].drug
    drugs = sorted({p.drug for p in plans})
    if len(drugs) == 1:
        return plans[0], drugs[0]
    return None, "、".join(drugs)[:500]


def pv_case_open_if_needed(*, patient: Patient, text: str, source: str, source_key: str = "",
                           received_at: datetime | None = None,
                           reporter: str = PharmacovigilanceCase.Reporter.PATIENT) -> PharmacovigilanceCase | None:
    """Queues free text that mentions a possible adverse reaction (an active term, not denied) for medical staff,
    once per source key, with the words as received, the patient's programme and medication, and the time it must
    be reviewed by: `received_at` (the regulatory clock starts at receipt) plus REMINDERS_PV_REVIEW_WINDOW."""
    terms = _pv_terms()
    matched = pv_keywords_in(text, terms)
    if not matched:
        return None
    received_at = received_at or timezone.now()
    key = source_key or f"{source}:{uuid.uuid4().hex}"
    plan, medication = _pv_medication(patient, text)
    serious = any(t.serious for t in terms if t.term in matched)
    with transaction.atomic():
        case, created = PharmacovigilanceCase.objects.get_or_create(
            source_key=key,
            defaults={"patient": patient, "programme_id": patient.programme_id, "plan": plan,
                      "medication": medication, "reporter": reporter, "text": text[:4000],
                      "matched_keywords": matched, "serious": serious, "source": source,
                      "received_at": received_at,
                      "review_due_at": received_at + _setting("REMINDERS_PV_REVIEW_WINDOW", PV_REVIEW_WINDOW)},
        )
        if created:
            audit_log(actor=None, action="reminders.pv_case_open", obj=case,
                      after={"keywords": matched, "reporter": reporter, "serious": serious})
    return case


def pv_case_open_for_doctor(*, doctor, text: str, source: str, source_key: str, context: str,
                            received_at: datetime | None = None) -> PharmacovigilanceCase | None:
    """Queues a doctor's free text (a live session's chat message or question) that mentions a possible adverse
    reaction, once per `source_key`, with the words, the doctor and `context` (where it was written), under the
    same review clock as a patient's report. None when no active term is found (or the term is denied)."""
    terms = _pv_terms()
    matched = pv_keywords_in(text, terms)
    if not matched:
        return None
    received_at = received_at or timezone.now()
    serious = any(t.serious for t in terms if t.term in matched)
    with transaction.atomic():
        case, created = PharmacovigilanceCase.objects.get_or_create(
            source_key=source_key[:200],
            defaults={"doctor": doctor, "context": context[:300], "reporter": PharmacovigilanceCase.Reporter.DOCTOR,
                      "text": text[:4000], "matched_keywords": matched, "serious": serious, "source": source[:20],
                      "received_at": received_at,
                      "review_due_at": received_at + _setting("REMINDERS_PV_REVIEW_WINDOW", PV_REVIEW_WINDOW)},
        )
        if created:
            audit_log(actor=None, action="reminders.pv_case_open", obj=case,
                      after={"keywords": matched, "reporter": "doctor", "serious": serious, "context": context})
    return case


def pv_cases_from_inbound(inbound, patients: list[Patient], caregivers: list[Caregiver]
                          ) -> list[PharmacovigilanceCase]:
    """Every inbound text is read for adverse reactions before anything else it may mean: one case per patient
    the sender speaks for (themselves, or the patient they care for; a number on several programmes reaches each,
    since over-reporting is safer than missing a case)."""
    if not (inbound.text or "").strip():
        return []
    about = [(p, PharmacovigilanceCase.Reporter.PATIENT) for p in patients]
    seen = {p.pk for p in patients}
    about += [(c.patient, PharmacovigilanceCase.Reporter.CAREGIVER) for c in caregivers if c.patient_id not in seen]
    cases = []
    for patient, reporter in about:
        case = pv_case_open_if_needed(
            patient=patient, text=inbound.text, source=inbound.channel, received_at=inbound.received_at,
            reporter=reporter, source_key=f"inbound:{inbound.channel}:{inbound.provider_id}:{patient.pk}")
        if case is None:
            return []  # the same words for every patient: no term, no case
        cases.append(case)
    return cases


@dataclass(frozen=True)
class PvTermInput:
    term: str
    language: str
    synonyms: str = ""
    serious: bool = False
    is_active: bool = True


def pv_term_save(*, term: AdverseEventTerm | None, data: PvTermInput, actor) -> AdverseEventTerm:
    """Adds or changes an adverse-event term, for holders of MANAGE_PV_TERMS; audited. A term or synonym that
    normalises to nothing, or to another active term's phrase, is refused (it would match everything or twice)."""
    if not can(actor, Capability.MANAGE_PV_TERMS):
        raise PermissionDenied("not_allowed", _("Only medical staff may edit the adverse event terms."))
    text = (data.term or "").strip()
    if data.language not in AdverseEventTerm.Language.values:
        raise DomainError("invalid_language", _("Choose Chinese or English."))
    row = AdverseEventTerm(pk=term.pk if term else None, term=text[:100], language=data.language,
                           synonyms=(data.synonyms or "").strip()[:4000], serious=data.serious,
                           is_active=data.is_active)
    phrases = row.phrases()
    if not text or not all(pv_phrase_key(p) for p in phrases):
        raise DomainError("invalid_term", _("A term or synonym needs at least one letter or character."))
    keys = [pv_phrase_key(p) for p in phrases]
    if len(set(keys)) != len(keys):
        raise DomainError("duplicate_phrase", _("A synonym repeats the term or another synonym."))
    others = {pv_phrase_key(p): t.term for t in AdverseEventTerm.objects.filter(is_active=True).exclude(pk=row.pk)
              for p in t.phrases()}
    clash = next((others[k] for k in keys if k in others), None)
    if row.is_active and clash:
        raise Conflict("duplicate_phrase", _("“%(term)s” already lists this word.") % {"term": clash})
    with transaction.atomic():
        before = None
        if term is not None:
            old = AdverseEventTerm.objects.select_for_update().get(pk=term.pk)
            before = {"term": old.term, "synonyms": old.synonyms, "serious": old.serious, "active": old.is_active}
        try:
            with transaction.atomic():
                row.save(force_insert=term is None, force_update=term is not None)
        except IntegrityError as exc:
            raise Conflict("duplicate_term", _("This term is already in the list.")) from exc
        audit_log(actor=actor, action="reminders.pv_term_save", obj=row, before=before,
                  after={"term": row.term, "synonyms": row.synonyms, "serious": row.serious,
                         "active": row.is_active})
    return row


def pv_terms_seed_defaults() -> int:
    """Adds the default terms that are missing (demo seeding; a fresh database has them from migration 0003)."""
    existing = set(AdverseEventTerm.objects.values_list("term", flat=True))
    rows = [AdverseEventTerm(term=t, language=lang, synonyms=syn, serious=serious)
            for t, lang, syn, serious in DEFAULT_PV_TERMS if t not in existing]
    AdverseEventTerm.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


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


logger = logging.getLogger("engage.reminders")
HORIZON = timedelta(hours=48)
REMATERIALISE_BEFORE = timedelta(hours=1)  # a plan is revisited when its horizon is less than 47 h away
GRACE = timedelta(minutes=15)  # a reminder later than this is stale: the dose expires instead
FOLLOW_UP_AFTER = timedelta(minutes=30)
ESCALATE_AFTER = timedelta(minutes=60)
BATCH = 500
PURPOSE_DOSE = "dose_reminder"
PURPOSE_FOLLOW_UP = "dose_follow_up"
PURPOSE_ESCALATION = "dose_escalation"
PURPOSE_CHECKUP = "checkup_reminder"


def _setting(name: str, default):
    return getattr(settings, name, default)


def local_due_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall time `day at` in `tz` (gap: first valid instant after it; repeat: first)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=0 reads the time with the offset before the transition, fold=1 with the one after; the
    # transition lies between the two readings. Bisect to the second.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    after_offset = naive.replace(tzinfo=tz, fold=1).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def plan_dose_slots(plan: MedicationPlan, tz: ZoneInfo, start: datetime, end: datetime):
    """(local date, local time, due_at) of the plan's doses with start <= due_at < end."""
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    times = plan.local_times()
    day = first_day
    while day <= last_day:
        if plan.occurs_on(day):
            for at in times:
                due = local_due_at(day, at, tz)
                if start <= due < end:
                    yield day, at, due
        day += timedelta(days=1)


def _plan_materialise(plan: MedicationPlan, *, start: datetime, end: datetime) -> int:
    """Inserts the plan's dose events with start <= due_at < end, each with that day's dose text (ON CONFLICT DO
    NOTHING: a slot that already has a live event keeps it), and moves the plan's horizon to `end`."""
    rows = [
        DoseEvent(plan=plan, patient_id=plan.patient_id, local_date=day, local_time=at, due_at=due,
                  dose_text=plan.dose_on(day) or "")
        for day, at, due in plan_dose_slots(plan, plan.patient.tz, start, end)
    ]
    DoseEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    MedicationPlan.objects.filter(pk=plan.pk).update(materialised_until=end)
    return len(rows)


def doses_materialise(*, now: datetime | None = None, limit: int = 2000, after_lock=None) -> int:
    """Creates the dose events of the next 48 hours for plans whose horizon runs short. Each plan is read again
    under its row lock (SKIP LOCKED: a plan the doctor is changing is left to the next tick), so a pause or an
    edit committed meanwhile is never undone by events computed from the old plan. Safe to run twice at once.
    `after_lock` is a test hook called with the locked plan inside its transaction."""
    now = now or timezone.now()
    end = now + HORIZON
    due = (Q(materialised_until__isnull=True) | Q(materialised_until__lt=end - REMATERIALISE_BEFORE))
    reminded = MedicationPlan.objects.filter(due, is_active=True, paused_at__isnull=True, as_needed=False,
                                             patient__opted_out_at__isnull=True, patient__programme__is_active=True)
    ids = list(reminded.order_by("materialised_until", "id").values_list("pk", flat=True)[:limit])
    created = 0
    for pk in ids:
        with transaction.atomic():
            plan = (reminded.select_for_update(skip_locked=True, of=("self",)).select_related("patient")
                    .filter(pk=pk).first())
            if plan is not None:
                if after_lock is not None:
                    after_lock(plan)
                created += _plan_materialise(plan, start=max(plan.materialised_until or now, now - GRACE), end=end)
    return created


@dataclass(frozen=True)
class Route:
    channel: str  # the gateway's channel
    to: str
    fallback_sms_to: str | None
    language: str


def active_consents(patient_ids) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = {}
    for pid, kind in PatientConsent.objects.filter(
        patient_id__in=list(patient_ids), caregiver__isnull=True, withdrawn_at__isnull=True
    ).values_list("patient_id", "kind"):
        kinds.setdefault(pid, set()).add(kind)
    return kinds


def _may_remind(patient: Patient, kinds: set[str]) -> bool:
    """Not opted out, and the consents every reminder needs were given."""
    return patient.opted_out_at is None and REQUIRED_KINDS <= kinds


def patient_route(patient: Patient, kinds: set[str]) -> Route | None:
    """Where a patient's reminder goes: their preferred channel they consented to; WeChat with an SMS fallback
    only when they consented to SMS too. None: opted out, consent missing, or no consented channel."""
    if not _may_remind(patient, kinds):
        return None
    sms = patient.mobile if Kind.SMS in kinds and patient.mobile else ""
    wechat = patient.wechat_openid if Kind.WECHAT in kinds and patient.wechat_openid else ""
    if wechat and (patient.preferred_channel == Channel.WECHAT or not sms):
        return Route("wechat_template", wechat, sms or None, patient.language)
    if sms:
        return Route("sms", sms, None, patient.language)
    return None


def patient_reachable(patient: Patient, kinds: set[str]) -> bool:
    """Whether `patient_route` finds a route, answered from the look-up hashes (set with the contact details they
    stand for) without decrypting anything: the minute tick asks it of every due dose."""
    if not _may_remind(patient, kinds):
        return False
    return bool((Kind.SMS in kinds and patient.mobile_hash) or (Kind.WECHAT in kinds and patient.openid_hash))


def caregiver_route(caregiver: Caregiver | None) -> Route | None:
    if caregiver is None or caregiver.opted_out_at is not None:
        return None
    kinds = set(caregiver.consents.filter(withdrawn_at__isnull=True).values_list("kind", flat=True))
    if Kind.PROGRAMME not in kinds:
        return None
    sms = caregiver.mobile if caregiver.mobile and Kind.SMS in kinds else ""
    if caregiver.wechat_openid and Kind.WECHAT in kinds:
        return Route("wechat_template", caregiver.wechat_openid, sms or None, caregiver.language)
    if sms:
        return Route("sms", sms, None, caregiver.language)
    return None


def in_quiet_hours(patient: Patient, now: datetime) -> bool:
    """Whether `now` falls in the quiet hours of the patient's programme, read in the patient's time zone."""
    start, end = patient.programme.quiet_start, patient.programme.quiet_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(patient.tz).time()
    return start <= local < end if start < end else (local >= start or local < end)


def _enqueue(route: Route, *, template_key: str, params: dict, key: str, purpose: str):
    return message_enqueue(channel=route.channel, to=route.to, template_key=template_key, params=params,
                           language=route.language, idempotency_key=key, fallback_sms_to=route.fallback_sms_to,
                           purpose=purpose)


def dose_params(dose: DoseEvent) -> dict:
    return {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug, "dose": dose.dose_text or dose.plan.dose_text,
            "url": patient_link(dose.patient)}


@dataclass
class DispatchResult:
    queued: int = 0
    expired: int = 0
    cancelled: int = 0
    recovered: int = 0


FAN_OUT_CHUNK = 100  # doses per `dose_reminders_enqueue_task` when the tick fans out to the workers
RECOVER_AFTER = timedelta(minutes=5)  # a claimed dose still without its outbox row after this is enqueued again


def doses_dispatch(*, now: datetime | None = None, batch: int = BATCH, max_batches: int | None = None,
                   fan_out: bool = False, after_claim=None) -> DispatchResult:
    """Claims due `scheduled` doses batch by batch (`FOR UPDATE SKIP LOCKED`, committed per batch): stale ones
    expire, those of opted-out or non-consenting patients are cancelled, the rest become `queued`. After each
    commit their reminders are written to the outbox — here, or with `fan_out` by Celery tasks of
    FAN_OUT_CHUNK doses spread over the workers. Claimed doses whose reminder was never written (a worker died in
    between) are enqueued again after RECOVER_AFTER. `after_claim` is a test hook called with the claimed ids
    inside the claiming transaction."""
    now = now or timezone.now()
    grace = _setting("REMINDERS_GRACE", GRACE)
    result = DispatchResult()
    batches = 0
    after: tuple[datetime, int] | None = None  # (due_at, id) of the last dose claimed: the next batch starts past it
    while max_batches is None or batches < max_batches:
        batches += 1
        queued_ids: list[int] = []
        with transaction.atomic():
            doses = list(
                _scheduled_past(after).select_for_update(skip_locked=True, of=("self",))
                .filter(due_at__lte=now)
                .select_related("patient", "plan")
                # Whether a dose can be sent is read from the look-up hashes: no contact detail is decrypted here.
                .defer("patient__name", "patient__mobile", "patient__wechat_openid")
                .order_by("due_at", "id")[:batch]
            )
            if not doses:
                break
            if after_claim is not None:
                after_claim([d.pk for d in doses])
            kinds = active_consents({d.patient_id for d in doses})
            ended: dict[tuple[str, str], list[int]] = {}  # (status, reason) -> dose ids
            for dose in doses:
                if now - dose.due_at > grace:
                    ended.setdefault((DoseEvent.Status.EXPIRED, "late"), []).append(dose.pk)
                    result.expired += 1
                elif not patient_reachable(dose.patient, kinds.get(dose.patient_id, set())) or not dose.plan.is_active:
                    reason = "opted_out" if dose.patient.opted_out_at else "no_consented_channel"
                    ended.setdefault((DoseEvent.Status.CANCELLED, reason), []).append(dose.pk)
                    result.cancelled += 1
                else:
                    queued_ids.append(dose.pk)
            changed_at = timezone.now()
            DoseEvent.objects.filter(pk__in=queued_ids).update(status=DoseEvent.Status.QUEUED, queued_at=now,
                                                               updated_at=changed_at)
            for (status, reason), ids in ended.items():
                DoseEvent.objects.filter(pk__in=ids).update(status=status, status_reason=reason, updated_at=changed_at)
            if fan_out:
                _fan_out(queued_ids)
        result.queued += len(queued_ids)
        if not fan_out:
            dose_reminders_enqueue(dose_ids=queued_ids)
        if len(doses) < batch:
            break
        after = (doses[-1].due_at, doses[-1].pk)
    result.recovered = doses_recover(now=now, fan_out=fan_out)
    return result


def _scheduled_past(after: tuple[datetime, int] | None):
    """Scheduled doses in the claim's (due_at, id) order, past `after` when given. Each batch starts where the last
    ended instead of at the start of the index: the entries of doses claimed a moment ago stay in the index until
    vacuum, and while other transactions are open (the fan-out tasks, a second tick) every scan from the start
    visited each of them again — 0.4 s per batch of 500 by the end of 100,000 doses. A dose skipped because it was
    locked is left to the next minute's tick."""
    doses = DoseEvent.objects.filter(status=DoseEvent.Status.SCHEDULED)
    if after is None:
        return doses
    table = DoseEvent._meta.db_table
    due_at = DoseEvent._meta.get_field("due_at").get_db_prep_value(after[0], connection)  # as stored (SQLite: text)
    return doses.filter(RawSQL(f'("{table}"."due_at", "{table}"."id") > (%s, %s)',  # noqa: S611  (no input)
                               (due_at, after[1]), output_field=BooleanField()))


def dose_reminders_enqueue(*, dose_ids: list[int], deliver_here: bool = False) -> int:
    """Writes the reminder of each claimed dose to the outbox once (idempotency key `dose:<id>`) and links it, in
    one transaction for the chunk: one INSERT for all the reminders, one UPDATE linking them. Doses already linked
    (by another copy of this task, which is waited for) or no longer `queued` (confirmed, opted out meanwhile) are
    skipped: running this twice, or at once, is harmless. After the commit the reminders are handed to the
    gateway's delivery tasks, or with `deliver_here` sent from this process (the fan-out task does, saving a
    trip through the broker; the gateway's sweeper sends whatever a dying process left queued)."""
    now = timezone.now()
    with transaction.atomic():
        # A blocking lock in id order, not SKIP LOCKED: a claiming tick may hold these rows for a moment, and a copy
        # of this task running at once is waited for, after which its linked doses no longer match.
        # Picked by id alone and checked here: with the statistics behind a burst's statuses, filtering status and
        # message in the statement had the planner scan 200,000 `message_id IS NULL` index entries per chunk.
        doses = [dose for dose in DoseEvent.objects.select_for_update(of=("self",)).filter(pk__in=dose_ids)
                 .select_related("patient", "plan").defer("patient__name").order_by("pk")  # name: not sent
                 if dose.status == DoseEvent.Status.QUEUED and dose.message_id is None]
        kinds = active_consents({d.patient_id for d in doses})
        specs, cancelled = {}, []
        for dose in doses:
            route = patient_route(dose.patient, kinds.get(dose.patient_id, set()))
            if route is None:  # opted out or consent withdrawn since the claim
                cancelled.append(dose.pk)
                continue
            specs[dose.pk] = MessageSpec(
                channel=route.channel, to=route.to, template_key="dose_reminder", params=dose_params(dose),
                idempotency_key=f"dose:{dose.pk}", language=route.language, fallback_sms_to=route.fallback_sms_to,
                purpose=PURPOSE_DOSE)
        message_ids = messages_enqueue_many(list(specs.values()), dispatch=not deliver_here)
        linked = [d for d in doses if d.pk in specs]
        for dose in linked:
            dose.message_id, dose.updated_at = message_ids[specs[dose.pk].idempotency_key], now
        _link_messages(linked, now)
        DoseEvent.objects.filter(pk__in=cancelled).update(status=DoseEvent.Status.CANCELLED,
                                                          status_reason="opted_out", updated_at=now)
    if deliver_here and linked:
        messages_deliver_now(message_ids=[d.message_id for d in linked])
    return len(linked)


def _fan_out(dose_ids: list[int]) -> None:
    """One task per FAN_OUT_CHUNK doses, sent after commit; a chunk a broker outage loses, doses_recover rescues."""
    for i in range(0, len(dose_ids), FAN_OUT_CHUNK):
        enqueue_on_commit("engage.reminders.tasks.dose_reminders_enqueue_task", dose_ids[i:i + FAN_OUT_CHUNK])


def doses_recover(*, now: datetime, fan_out: bool = False, limit: int = 5000) -> int:
    """Claimed doses whose outbox row was never written (the process died between claim and enqueue): enqueued
    again, or expired when they are by now more than the grace period late."""
    stuck = DoseEvent.objects.filter(status=DoseEvent.Status.QUEUED, message__isnull=True,
                                     queued_at__lte=now - RECOVER_AFTER)
    stuck.filter(due_at__lt=now - _setting("REMINDERS_GRACE", GRACE)).update(
        status=DoseEvent.Status.EXPIRED, status_reason="late", updated_at=now)
    ids = list(stuck.order_by("due_at").values_list("pk", flat=True)[:limit])
    if ids:
        logger.warning("re-enqueueing %s claimed doses without a reminder", len(ids))
        if fan_out:
            _fan_out(ids)
        else:
            dose_reminders_enqueue(dose_ids=ids)
    return len(ids)


def _open_unconfirmed(*, now: datetime, after: timedelta, field: str, batch: int):
    return list(
        DoseEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=DoseEvent.OPEN, due_at__lte=now - after, due_at__gt=now - CONFIRM_WINDOW,
                patient__opted_out_at__isnull=True, **{f"{field}__isnull": True})
        .select_related("patient__programme", "plan").order_by("due_at", "id")[:batch]
    )


def doses_follow_up(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One follow-up to the patient 30 minutes after an unconfirmed reminder; held during quiet hours (and
    dropped if the dose's confirmation window has closed by then)."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        doses = _open_unconfirmed(now=now, after=FOLLOW_UP_AFTER, field="follow_up_sent_at", batch=batch)
        kinds = active_consents({d.patient_id for d in doses})
        for dose in doses:
            route = patient_route(dose.patient, kinds.get(dose.patient_id, set()))
            if route is None or in_quiet_hours(dose.patient, now):
                continue
            _enqueue(route, template_key="dose_follow_up", params=dose_params(dose), key=f"dose:{dose.pk}:follow_up",
                     purpose=PURPOSE_FOLLOW_UP)
            DoseEvent.objects.filter(pk=dose.pk).update(follow_up_sent_at=now, updated_at=now)
            sent += 1
    return sent


def doses_escalate(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """After 60 minutes unconfirmed, one message to the caregiver if they consented; held during quiet hours."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        doses = _open_unconfirmed(now=now, after=ESCALATE_AFTER, field="escalated_at", batch=batch)
        for dose in doses:
            if in_quiet_hours(dose.patient, now):
                continue
            caregiver = Caregiver.objects.filter(patient_id=dose.patient_id).first()
            route = caregiver_route(caregiver)
            if route is None:
                continue
            params = {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug}
            _enqueue(route, template_key="dose_escalation", params=params, key=f"dose:{dose.pk}:escalation",
                     purpose=PURPOSE_ESCALATION)
            DoseEvent.objects.filter(pk=dose.pk).update(escalated_at=now, updated_at=now)
            sent += 1
    return sent


def doses_mark_missed(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return DoseEvent.objects.filter(status__in=DoseEvent.OPEN, due_at__lte=now - CONFIRM_WINDOW).update(
        status=DoseEvent.Status.MISSED, updated_at=now)


def checkups_remind(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Check-up reminders on their due date at the plan's local time; repeating plans move to the next date."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        plans = list(
            FollowUpPlan.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(is_active=True, next_due_date__lte=(now + timedelta(days=1)).date(),
                    patient__opted_out_at__isnull=True)
            .select_related("patient")[:batch]
        )
        kinds = active_consents({p.patient_id for p in plans})
        for plan in plans:
            local = now.astimezone(plan.patient.tz)
            due = plan.next_due_date
            if local.date() < due or (local.date() == due and local.time() < plan.remind_at):
                continue
            route = patient_route(plan.patient, kinds.get(plan.patient_id, set()))
            if route is not None and local.date() == due and plan.last_reminded_for != due:
                _enqueue(route, template_key="checkup_reminder", params={"title": plan.title, "date": str(due)},
                         key=f"checkup:{plan.pk}:{due}", purpose=PURPOSE_CHECKUP)
                sent += 1
            plan.last_reminded_for = due
            following = plan.next_after(due)
            if following:
                plan.next_due_date = following
            else:
                plan.is_active = False
            plan.save(update_fields=["last_reminded_for", "next_due_date", "is_active"])
    return sent


def reminders_tick(*, now: datetime | None = None, fan_out: bool = False) -> dict:
    """Everything the minute beat does, in order. Each step is idempotent and safe to run concurrently."""
    now = now or timezone.now()
    counts = {"materialised": doses_materialise(now=now)}
    dispatched = doses_dispatch(now=now, fan_out=fan_out)
    counts.update(queued=dispatched.queued, expired=dispatched.expired, cancelled=dispatched.cancelled,
                  recovered=dispatched.recovered)
    counts["follow_ups"] = doses_follow_up(now=now)
    counts["escalations"] = doses_escalate(now=now)
    counts["missed"] = doses_mark_missed(now=now)
    counts["checkups"] = checkups_remind(now=now)
    if any(counts.values()):
        logger.info("reminders tick: %s", counts)
    return counts


OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退订", "取消"}
TAKEN_WORDS = {"1", "YES", "Y", "OK", "TAKEN", "已服", "已服用", "已吃", "吃了", "好"}
SKIPPED_WORDS = {"0", "NO", "N", "SKIP", "SKIPPED", "跳过", "未服", "没吃", "不吃"}


def _word(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().upper().rstrip("。.!！ ")


def _senders(channel: str, sender: str) -> tuple[list[Patient], list[Caregiver]]:
    digest = lookup_hash(sender)
    if not digest:
        return [], []
    lookup = Q(mobile_hash=digest) if channel == "sms" else Q(openid_hash=digest)
    return (list(Patient.objects.filter(lookup).order_by("-created_at")),
            list(Caregiver.objects.filter(lookup).select_related("patient")))


def on_inbound(inbound) -> str | None:
    patients, caregivers = _senders(inbound.channel, inbound.sender)
    word = _word(inbound.text)
    kind = inbound.kind
    if kind == "text" and word in OPT_OUT_WORDS:
        kind = "opt_out"
    if not patients and not caregivers:
        if kind != "text":
            return None  # a follow or an opt-out from someone we do not remind: nothing to change or say
        with translation.override("zh-hans"):
            return _("Hello, this number is not enrolled in a medication reminder programme, so nothing was "
                     "changed. Please ask your doctor if you would like to join.")
    language = patients[0].language if patients else caregivers[0].language
    # Adverse-reaction words are looked for in every text first, whatever else it says or whoever sends it.
    cases = pv_cases_from_inbound(inbound, patients, caregivers)
    with translation.override(language):
        answer = _answer(inbound, kind, word, patients, caregivers, pv_case_opened=bool(cases))
        if not cases:
            return answer
        safety = _("Thank you for telling us. Our medical team will review this and may contact you. If you feel "
                   "seriously unwell, see a doctor or call 120 at once.")
        return f"{safety}\n{answer}" if answer else safety


def _answer(inbound, kind, word, patients, caregivers, *, pv_case_opened: bool) -> str | None:
    """The reply to what the message means besides any adverse reaction; None when that reply alone says it all."""
    if kind in ("opt_out", "unsubscribe"):
        patient_opt_out(patients=patients, source=f"{inbound.channel}:{kind}")
        caregiver_opt_out(caregivers=caregivers, source=f"{inbound.channel}:{kind}")
        if kind == "unsubscribe":
            return None  # WeChat delivers no reply to an unfollow
        return _("You will receive no more reminders. Your doctor can re-enrol you at any time.")
    if kind == "opt_in":
        patient_opt_in(patients=patients, source=f"{inbound.channel}:opt_in")
        return _("Reminders are on again from now on. Reply TD to stop them.") if patients else None
    if kind == "subscribe":
        return _("Welcome back. Your medication reminders arrive here.") if patients else None
    if not patients:
        if pv_case_opened:
            return None
        return _("Thank you. Reply TD to stop receiving messages about your family member.")
    patient = patients[0]
    link = _link(patient)
    if word in TAKEN_WORDS or word in SKIPPED_WORDS:
        taken = word in TAKEN_WORDS
        status = DoseEvent.Status.TAKEN if taken else DoseEvent.Status.SKIPPED
        match = dose_confirm_by_reply(patients=patients, status=status, via=inbound.channel,
                                               now=inbound.received_at)
        if match.outcome == "confirmed":
            dose = match.doses[0]
            values = {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug}
            if taken:
                return _("Thank you: your %(time)s dose of %(drug)s is recorded as taken.") % values
            return _("Noted: your %(time)s dose of %(drug)s is recorded as skipped.") % values
        if match.outcome == "ambiguous":
            return _("Several doses are open right now. Please confirm each one on this page: %(link)s") % {
                "link": link}
        return _("There is no dose waiting for confirmation right now. Today's doses: %(link)s") % {"link": link}
    glucose = parse_glucose(inbound.text)
    if glucose is not None:
        value, unit = glucose
        try:
            row = reported_value_record(patient=patient, kind=ReportedValue.Kind.BLOOD_GLUCOSE, value=value,
                                                 unit=unit, source=inbound.channel, measured_at=inbound.received_at)
        except DomainError as exc:
            return str(exc.message)
        return _("Blood glucose %(value)s mmol/L recorded. Your doctor can see it.") % {"value": row.value}
    if pv_case_opened:
        return None
    return _("Reply 1 when you have taken your dose, 0 if you skipped it, \"血糖 6.5\" to report blood glucose, "
             "TD to stop reminders. Today's doses: %(link)s") % {"link": link}


def _link(patient: Patient) -> str:
    return patient_link(patient)


def on_outcome(messages) -> None:
    """Reminders (or the SMS that replaced an unreachable WeChat one) went out: their doses are `sent`. Registered
    with `many=True`: one call per delivered batch."""
    sent_at = {}
    for message in messages:
        if message.purpose == PURPOSE_DOSE and message.status in ("sent", "delivered"):
            sent_at[message.pk] = message.sent_at
            if getattr(message, "fallback_of_id", None):
                sent_at[message.fallback_of_id] = message.sent_at
    if sent_at:
        dose_outcome_apply(sent_at=sent_at)
