"""Patients, their consents, medication and follow-up plans, dose events, reported values and the
pharmacovigilance queue.

Names, mobile numbers, WeChat openids and free text are personal (health) information under PIPL: they are
stored encrypted (`EncryptedTextField`) with a keyed `lookup_hash` where a look-up is needed (replies arrive
with a number or an openid).
"""

import secrets
import zoneinfo
from datetime import date, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from engage.core.crypto import EncryptedTextField


def validate_time_zone(value: str) -> None:
    if not value or value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known IANA time zone."), params={"value": value})


def validate_times_of_day(value) -> None:
    if not isinstance(value, list) or not value or len(value) > 288:
        raise ValidationError(_("Give between 1 and 288 times of day."))
    for item in value:
        try:
            time.fromisoformat(item)
        except (TypeError, ValueError):
            raise ValidationError(_("%(value)s is not a time of day (HH:MM)."), params={"value": item}) from None


def new_token() -> str:
    return secrets.token_urlsafe(24)


def mask_name(name: str) -> str:
    """张三丰 -> 张**; staff lists show no full names."""
    return f"{name[:1]}**" if name else ""


class Channel(models.TextChoices):
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")


class Programme(models.Model):
    """A patient-support programme (e.g. a diabetes adherence programme) run for a sponsor."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    name = models.CharField(_("name"), max_length=200)
    sponsor = models.CharField(_("sponsor"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    template_keys = models.JSONField(
        _("approved message templates"), default=list, blank=True,
        help_text=_("Keys of the message templates approved for this programme."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="reminder_programmes", verbose_name=_("staff"),
        help_text=_("Programme staff see adherence; sales reps never do."),
    )
    enrolment_token = models.CharField(_("enrolment QR token"), max_length=64, unique=True, default=new_token,
                                       editable=False)
    # Follow-ups and caregiver escalations wait out these local hours (each patient's time zone); both empty: none.
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True, default=time(22, 0),
                                   help_text=_("Local time from which no follow-up or escalation is sent."))
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True, default=time(7, 0),
                                 help_text=_("Local time at which follow-ups and escalations resume."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patient programme")
        verbose_name_plural = _("patient programmes")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="programme_quiet_hours_both_or_neither",
                violation_error_message=_("Give both ends of the quiet hours, or neither."),
            ),
        ]

    def __str__(self):
        return self.name

    def current_consent_text(self) -> "ProgrammeConsentText | None":
        return self.consent_texts.order_by("-published_at", "-id").first()


class ProgrammeConsentText(models.Model):
    """One version of a programme's consent texts. Consent rows name the version the person saw."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save


    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="consent_texts",
                                  verbose_name=_("programme"))
    version = models.CharField(_("version"), max_length=20)
    text = models.TextField(_("programme consent text"))
    health_info_text = models.TextField(_("health information consent text"))
    published_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        verbose_name = _("programme consent text")
        verbose_name_plural = _("programme consent texts")
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="consent_text_version_once"),
        ]

    def __str__(self):
        return f"{self.programme} v{self.version}"


class ContactDetails(models.Model):
    """How a person without a log-in is reached: name, mobile and WeChat openid encrypted at rest with keyed hashes
    for look-ups, language, and whether they opted out. Shared by patients and caregivers."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    class Language(models.TextChoices):
        ZH = "zh-hans", "简体中文"
        EN = "en", "English"

    name = EncryptedTextField(_("name"))
    mobile = EncryptedTextField(_("mobile number"), blank=True, default="")
    mobile_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    wechat_openid = EncryptedTextField(_("WeChat openid"), blank=True, default="")
    openid_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH)
    opted_out_at = models.DateTimeField(_("opted out"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


class Patient(ContactDetails):
    """A patient enrolled in a programme. No log-in: reached over WeChat or SMS and by a signed link."""

    class EnrolmentMethod(models.TextChoices):
        DOCTOR_PORTAL = "doctor_portal", _("By the treating doctor")
        SELF_QR = "self_qr", _("Self-enrolment (programme QR code)")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="patients",
                                  verbose_name=_("programme"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 validators=[validate_time_zone])
    preferred_channel = models.CharField(_("preferred channel"), max_length=10, choices=Channel.choices,
                                         default=Channel.WECHAT)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminder_patients",
        verbose_name=_("treating doctor"),
    )
    enrolment_method = models.CharField(_("enrolled"), max_length=20, choices=EnrolmentMethod.choices)
    link_version = models.PositiveIntegerField(default=1, editable=False)  # bump to revoke patient links
    created_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(fields=["programme", "mobile_hash"], condition=~Q(mobile_hash=""),
                                    name="patient_mobile_once_per_programme"),
        ]

    def __str__(self):
        return f"{mask_name(self.name)} (#{self.pk})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def age_on(self, day: date) -> int | None:
        if not self.birth_date:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class Caregiver(ContactDetails):
    """A family member or guardian who may be told when doses are missed, with their own contact and consent."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="caregiver",
                                   verbose_name=_("patient"))
    relationship = models.CharField(_("relationship"), max_length=50, blank=True)
    is_guardian = models.BooleanField(_("legal guardian"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("caregiver")
        verbose_name_plural = _("caregivers")

    def __str__(self):
        return f"{mask_name(self.name)} ({self.relationship})"


class PatientConsent(models.Model):
    """One consent given by a patient (caregiver empty) or by their caregiver; withdrawn, never deleted."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    class Kind(models.TextChoices):
        PROGRAMME = "programme", _("Programme participation")
        HEALTH_INFORMATION = "health_information", _("Processing of health information")
        SMS = "sms", _("Reminders by SMS")
        WECHAT = "wechat", _("Reminders by WeChat")

    class Method(models.TextChoices):
        DOCTOR_PORTAL = "doctor_portal", _("Recorded by the treating doctor")
        SELF_QR = "self_qr", _("Given on the self-enrolment form")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents",
                                verbose_name=_("patient"))
    caregiver = models.ForeignKey(Caregiver, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="consents", verbose_name=_("caregiver"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text_version = models.CharField(_("text version"), max_length=20)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    given_at = models.DateTimeField(_("given"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    guardian_name = EncryptedTextField(_("guardian"), blank=True, default="",
                                       help_text=_("Who consented for a patient under 14."))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("patient consent")
        verbose_name_plural = _("patient consents")
        ordering = ["-given_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"],
                                    condition=Q(withdrawn_at__isnull=True, caregiver__isnull=True),
                                    name="patient_consent_active_once"),
            models.UniqueConstraint(fields=["caregiver", "kind"],
                                    condition=Q(withdrawn_at__isnull=True, caregiver__isnull=False),
                                    name="caregiver_consent_active_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.text_version}"


def validate_taper_steps(value) -> None:
    """[{"dose": "4 片", "days": 7}, …]: 1 to 12 steps, each a dose text and 1 to 365 days."""
    if not isinstance(value, list) or len(value) > MAX_TAPER_STEPS:
        raise ValidationError(_("Give at most %(max)s taper steps.") % {"max": MAX_TAPER_STEPS})
    for step in value:
        if not isinstance(step, dict) or set(step) != {"dose", "days"}:
            raise ValidationError(_("Each taper step needs a dose and a number of days."))
        dose, days = step["dose"], step["days"]
        if not isinstance(dose, str) or not dose.strip() or len(dose) > 200:
            raise ValidationError(_("Each taper step needs a dose and a number of days."))
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ValidationError(_("A taper step lasts 1 to 365 days."))


MAX_TAPER_STEPS = 12


class MedicationPlan(models.Model):
    """What to take and when; as-needed plans get no reminders. A tapering plan lists its steps (dose text and
    number of days, in order from the start date) and ends with its last step; each day's doses carry that day's
    dose text. A paused plan keeps its schedule but has no dose events ahead until it is resumed."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save


    class ScheduleKind(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKDAYS = "weekdays", _("On chosen weekdays")
        EVERY_N_DAYS = "every_n_days", _("Every N days")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="plans", verbose_name=_("patient"))
    drug = models.CharField(_("drug"), max_length=200)
    dose_text = models.CharField(_("dose"), max_length=200)
    times = models.JSONField(_("times of day"), default=list, validators=[validate_times_of_day],
                             help_text=_("Local times, e.g. [\"08:00\", \"20:00\"]."))
    schedule_kind = models.CharField(_("schedule"), max_length=20, choices=ScheduleKind.choices,
                                     default=ScheduleKind.DAILY)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday."))
    interval_days = models.PositiveSmallIntegerField(_("every N days"), default=1)
    cycle_active_days = models.PositiveSmallIntegerField(_("cycle: days on"), null=True, blank=True)
    cycle_pause_days = models.PositiveSmallIntegerField(_("cycle: days off"), null=True, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    as_needed = models.BooleanField(_("as needed (no reminders)"), default=False)
    taper_steps = models.JSONField(_("taper steps"), default=list, blank=True, validators=[validate_taper_steps],
                                   help_text=_("In order from the start date: the dose and for how many days."))
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True, editable=False)
    # Dose events exist up to this instant; the beat tick only revisits plans whose horizon runs short.
    materialised_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("medication plan")
        verbose_name_plural = _("medication plans")
        indexes = [models.Index(fields=["is_active", "materialised_until"], name="plan_materialise_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                                   name="plan_end_after_start"),
            models.CheckConstraint(condition=Q(interval_days__gte=1), name="plan_interval_positive"),
        ]

    def __str__(self):
        return f"{self.drug} {self.dose_text}"

    def occurs_on(self, day: date) -> bool:
        """Whether the schedule has doses on local date `day`."""
        if self.as_needed or day < self.start_date or (self.end_date and day > self.end_date):
            return False
        if self.taper_steps and self.dose_on(day) is None:
            return False
        offset = (day - self.start_date).days
        if self.cycle_active_days and self.cycle_pause_days:
            if offset % (self.cycle_active_days + self.cycle_pause_days) >= self.cycle_active_days:
                return False
        if self.schedule_kind == self.ScheduleKind.WEEKDAYS:
            return day.weekday() in (self.weekdays or [])
        if self.schedule_kind == self.ScheduleKind.EVERY_N_DAYS:
            return offset % max(self.interval_days, 1) == 0
        return True

    def local_times(self) -> list[time]:
        return sorted({time.fromisoformat(t) for t in self.times})

    def taper_days(self) -> int:
        return sum(step["days"] for step in self.taper_steps)

    def dose_on(self, day: date) -> str | None:
        """The dose text of local date `day`: the taper step it falls in, or the plan's dose; None after the last
        step (or before the start) of a tapering plan."""
        if not self.taper_steps:
            return self.dose_text
        offset = (day - self.start_date).days
        if offset < 0:
            return None
        for step in self.taper_steps:
            if offset < step["days"]:
                return step["dose"]
            offset -= step["days"]
        return None


class FollowUpPlan(models.Model):
    """A check-up reminder (e.g. HbA1c every 90 days, or a one-off clinic visit) on a date, optionally repeating
    every N days or every N months."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="follow_ups",
                                verbose_name=_("patient"))
    title = models.CharField(_("check-up"), max_length=200)
    next_due_date = models.DateField(_("next due"))
    interval_months = models.PositiveSmallIntegerField(_("repeat every N months"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(_("repeat every N days"), null=True, blank=True)
    remind_at = models.TimeField(_("remind at (local)"), default=time(9, 0))
    is_active = models.BooleanField(_("active"), default=True)
    last_reminded_for = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        constraints = [
            models.CheckConstraint(condition=Q(interval_days__isnull=True) | Q(interval_months__isnull=True),
                                   name="follow_up_one_interval"),
            models.CheckConstraint(condition=Q(interval_days__isnull=True) | Q(interval_days__gte=1),
                                   name="follow_up_interval_days_positive"),
        ]

    def __str__(self):
        return f"{self.title} {self.next_due_date}"

    def next_after(self, due: date) -> date | None:
        """The date after `due` for a repeating check-up; None for a one-off."""
        if self.interval_days:
            return due + timedelta(days=self.interval_days)
        if self.interval_months:
            return add_months(due, self.interval_months)
        return None


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 -> 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


class DoseEvent(models.Model):
    """One expected dose: the unit of reminding, confirming and adherence."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save


    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Reminder queued")
        SENT = "sent", _("Reminder sent")
        TAKEN = "taken", _("Taken")
        SKIPPED = "skipped", pgettext_lazy("dose", "Skipped")
        MISSED = "missed", _("Missed")
        EXPIRED = "expired", _("Expired (reminder not sent in time)")
        CANCELLED = "cancelled", _("Cancelled (opt-out or no consent)")

    OPEN = (Status.QUEUED, Status.SENT)

    plan = models.ForeignKey(MedicationPlan, on_delete=models.CASCADE, related_name="doses", verbose_name=_("plan"))
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="doses", verbose_name=_("patient"))
    local_date = models.DateField(_("local date"))
    local_time = models.TimeField(_("local time"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    dose_text = models.CharField(_("dose"), max_length=200, blank=True,
                                 help_text=_("That day's dose, written when the event is created (taper steps)."))
    message = models.ForeignKey("messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("reminder"),
                                db_index=False)  # indexed once, by dose_message_idx
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_via = models.CharField(_("confirmed via"), max_length=20, blank=True)
    follow_up_sent_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dose event")
        verbose_name_plural = _("dose events")
        ordering = ["due_at", "id"]
        constraints = [
            # Cancelled rows stay as evidence; a slot a plan change or resume brings back gets a fresh row.
            models.UniqueConstraint(fields=["plan", "local_date", "local_time"], condition=~Q(status="cancelled"),
                                    name="dose_once_per_plan_slot"),
        ]
        indexes = [
            # The claim reads scheduled rows in (due_at, id) order: walking this index needs no sort of every due row.
            models.Index(fields=["due_at", "id"], condition=Q(status="scheduled"), name="dose_scheduled_due_id_idx"),
            models.Index(fields=["due_at"], condition=Q(status__in=["queued", "sent"]), name="dose_open_due_idx"),
            models.Index(fields=["patient", "due_at"], name="dose_patient_due_idx"),
            models.Index(fields=["message"], name="dose_message_idx"),
        ]

    def __str__(self):
        return f"{self.plan} {self.local_date} {self.local_time:%H:%M}"


class ReportedValue(models.Model):
    """A measurement the patient reported, normalised to the canonical unit of its kind."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    class Kind(models.TextChoices):
        BLOOD_GLUCOSE = "blood_glucose", _("Blood glucose")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reported_values",
                                verbose_name=_("patient"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    value = models.DecimalField(_("value"), max_digits=5, decimal_places=1)
    unit = models.CharField(_("unit"), max_length=20)
    original_value = models.DecimalField(max_digits=7, decimal_places=2)
    original_unit = models.CharField(max_length=20)
    note = EncryptedTextField(_("note"), blank=True, default="")
    source = models.CharField(_("source"), max_length=20)
    measured_at = models.DateTimeField(_("measured"))

    class Meta:
        verbose_name = _("reported value")
        verbose_name_plural = _("reported values")
        ordering = ["-measured_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value} {self.unit}"


class AdverseEventTerm(models.Model):
    """A word or phrase that, found in a patient's or caregiver's message, opens a pharmacovigilance case. Kept by
    medical staff in the admin; matching ignores case, width, spaces and punctuation (parsing.pv_terms_found)."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save

    class Language(models.TextChoices):
        ZH = "zh-hans", "简体中文"
        EN = "en", "English"

    term = models.CharField(_("term"), max_length=100, unique=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH)
    synonyms = models.TextField(
        _("synonyms"), blank=True,
        help_text=_("Other ways people say it, separated by commas or new lines (e.g. 起疹子, 出疹子)."))
    serious = models.BooleanField(_("possibly serious"), default=False,
                                  help_text=_("Cases with this term are flagged for review first."))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("adverse event term")
        verbose_name_plural = _("adverse event terms")
        ordering = ["language", "term"]

    def __str__(self):
        return self.term

    def phrases(self) -> list[str]:
        """The term and its synonyms, as entered."""
        others = self.synonyms.replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
        return [self.term] + [p.strip() for p in others if p.strip()]


class PharmacovigilanceCase(models.Model):
    """A message from a patient or their caregiver that may describe an adverse reaction, queued for medical staff
    with the words as received, the patient, programme and medication, and the time it must be reviewed by (the
    regulatory clock starts when the message was received). A doctor's words in a live session's chat or Q&A open a
    case too: then `doctor` and `context` (the session) stand where the patient and programme would."""

    wagtail_reference_index_ignore = True  # not content: keep Wagtail's reference index out of every save


    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_REVIEW = "in_review", _("In review")
        REPORTED = "reported", _("Reported to safety")
        CLOSED = "closed", _("Closed, not an adverse event")

    class Reporter(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CAREGIVER = "caregiver", _("Caregiver")
        DOCTOR = "doctor", _("Doctor")

    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="pv_cases",
                                verbose_name=_("patient"))
    programme = models.ForeignKey(Programme, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="pv_cases", verbose_name=_("programme"))
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("reporting doctor"))
    context = models.CharField(_("where it was written"), max_length=300, blank=True,
                               help_text=_("For a doctor's report: the live session and whether chat or Q&A."))
    plan = models.ForeignKey(MedicationPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("medication plan"))
    medication = models.CharField(_("medication"), max_length=500, blank=True,
                                  help_text=_("The drug the message names, else the patient's active medication."))
    reporter = models.CharField(_("reported by"), max_length=12, choices=Reporter.choices, default=Reporter.PATIENT)
    text = EncryptedTextField(_("patient's words"))
    matched_keywords = models.JSONField(_("matched keywords"), default=list)
    serious = models.BooleanField(_("possibly serious"), default=False)
    source = models.CharField(_("source"), max_length=20)
    source_key = models.CharField(max_length=200, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW,
                              db_index=True)
    received_at = models.DateTimeField(_("received"))
    review_due_at = models.DateTimeField(_("review due by"), db_index=True)
    review_notes = models.TextField(_("review notes"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    created_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pharmacovigilance case")
        verbose_name_plural = _("pharmacovigilance queue")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(review_due_at__gte=models.F("received_at")),
                                   name="pv_case_review_due_after_receipt"),
            models.CheckConstraint(condition=Q(patient__isnull=False, programme__isnull=False)
                                   | Q(doctor__isnull=False), name="pv_case_patient_or_doctor"),
        ]

    def __str__(self):
        return f"PV #{self.pk} ({self.get_status_display()})"


# The terms a fresh database starts with (data migration 0003 and the demo); medical staff edit them in the admin.
# (term, language, synonyms, possibly serious)
DEFAULT_PV_TERMS = [
    ("不良反应", "zh-hans", "副作用, 副反应", False),
    ("过敏", "zh-hans", "过敏反应", False),
    ("皮疹", "zh-hans", "起疹子, 出疹子, 疹子, 红疹, 起红点, 荨麻疹, 风团", False),
    ("瘙痒", "zh-hans", "发痒, 痒", False),
    ("头晕", "zh-hans", "眩晕, 头昏, 晕乎乎, 天旋地转", False),
    ("头痛", "zh-hans", "头疼", False),
    ("恶心", "zh-hans", "想吐, 反胃, 作呕", False),
    ("呕吐", "zh-hans", "吐了", False),
    ("腹泻", "zh-hans", "拉肚子, 拉稀", False),
    ("腹痛", "zh-hans", "肚子疼, 肚子痛, 胃疼, 胃痛", False),
    ("低血糖", "zh-hans", "血糖低, 血糖太低", False),
    ("心慌", "zh-hans", "心悸, 心跳快, 心跳很快, 心跳加速", False),
    ("出冷汗", "zh-hans", "冒冷汗, 冷汗, 手抖, 发抖", False),
    ("乏力", "zh-hans", "没力气, 浑身无力", False),
    ("水肿", "zh-hans", "浮肿, 肿了", False),
    ("视物模糊", "zh-hans", "看不清, 眼花", False),
    ("呼吸困难", "zh-hans", "喘不上气, 喘不过气, 上不来气, 透不过气, 气短, 憋气, 呼吸不畅", True),
    ("胸痛", "zh-hans", "胸口疼, 胸口痛, 胸闷", True),
    ("晕倒", "zh-hans", "昏倒, 晕厥, 昏过去, 晕过去", True),
    ("昏迷", "zh-hans", "意识不清, 叫不醒", True),
    ("住院", "zh-hans", "急诊, 送医院, 进医院", True),
    ("黄疸", "zh-hans", "皮肤发黄, 眼睛发黄", True),
    ("adverse event", "en", "adverse reaction, adverse effect, side effect", False),
    ("allergy", "en", "allergic, allergic reaction", False),
    ("rash", "en", "hives, skin eruption", False),
    ("itching", "en", "itchy, itch", False),
    ("dizziness", "en", "dizzy, vertigo, lightheaded, light headed", False),
    ("headache", "en", "migraine", False),
    ("nausea", "en", "nauseous, nauseated, feel sick, feeling sick", False),
    ("vomiting", "en", "vomit, threw up, throwing up", False),
    ("diarrhoea", "en", "diarrhea, loose stools", False),
    ("abdominal pain", "en", "stomach ache, stomachache, stomach pain, belly pain", False),
    ("hypoglycaemia", "en", "hypoglycemia, hypo, low blood sugar, low sugar", False),
    ("palpitations", "en", "heart racing, racing heart, pounding heart", False),
    ("swelling", "en", "swollen, oedema, edema", False),
    ("blurred vision", "en", "blurry vision", False),
    ("shortness of breath", "en", "short of breath, breathless, cant breathe, difficulty breathing, "
                                  "trouble breathing", True),
    ("chest pain", "en", "chest tightness", True),
    ("fainting", "en", "faint, fainted, passed out, blacked out", True),
    ("unconscious", "en", "coma", True),
    ("hospital", "en", "hospitalised, hospitalized, emergency room", True),
    ("jaundice", "en", "yellow skin, yellow eyes", True),
]
