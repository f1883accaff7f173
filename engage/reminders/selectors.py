"""Reads that decide who sees patients and adherence, and the signed patient link.

One access rule per object type: `access_patient` / `patients_visible_to` for patients and their adherence and
reported values (the treating doctor, and staff of the patient's programme; sales reps never), and
`programmes_visible_to` for programme-level adherence (programme staff only).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.core.errors import NotFound, PermissionDenied
from engage.core.roles import Capability, can
from engage.core.sections import PageSection
from engage.reminders.models import DoseEvent, FollowUpPlan, MedicationPlan, Patient, Programme
from members.accounts.selectors import AccessLevel, access_level_of

LINK_SALT = "engage.reminders.patient-link"
LINK_MAX_AGE = timedelta(days=7)
CONFIRM_WINDOW = timedelta(hours=2)  # a reply confirms a dose at most this long after it fell due
EARLY_CONFIRM = timedelta(hours=1)  # the patient page may confirm a dose this long before it is due


# --- The patient's signed link ----------------------------------------------------------------------------


def patient_token(patient: Patient) -> str:
    return signing.dumps({"p": patient.pk, "v": patient.link_version}, salt=LINK_SALT, compress=True)


def patient_link(patient: Patient) -> str:
    base = getattr(settings, "ENGAGE_PUBLIC_URL", "") or settings.WAGTAILADMIN_BASE_URL
    return base.rstrip("/") + reverse("reminders_patient_page", args=[patient_token(patient)])


def patient_from_token(token: str) -> Patient:
    """The patient a link was signed for; expired, forged or revoked links are refused."""
    max_age = getattr(settings, "REMINDERS_LINK_MAX_AGE", LINK_MAX_AGE)
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise PermissionDenied("link_expired",
                               _("This link has expired. Reply to any reminder to get a new one.")) from None
    except signing.BadSignature:
        raise NotFound("link_invalid", _("This link is not valid.")) from None
    if not isinstance(data, dict):
        raise NotFound("link_invalid", _("This link is not valid."))
    patient = Patient.objects.select_related("programme").filter(pk=data.get("p")).first()
    if patient is None or patient.link_version != data.get("v"):
        raise NotFound("link_invalid", _("This link is not valid."))
    return patient


def doses_of_day(patient: Patient, now: datetime | None = None) -> list[DoseEvent]:
    """The patient's doses on today's local date, in their time zone."""
    now = now or timezone.now()
    today = now.astimezone(patient.tz).date()
    return list(patient.doses.filter(local_date=today).exclude(status=DoseEvent.Status.CANCELLED)
                .select_related("plan").order_by("due_at", "id"))


def dose_confirmable(dose: DoseEvent, now: datetime) -> bool:
    """Whether the patient page's buttons can record this dose now (the rule of services.dose_confirm_on_page):
    a reminded or missed dose, or a scheduled one from an hour before it is due."""
    if dose.status in DoseEvent.OPEN or dose.status == DoseEvent.Status.MISSED:
        return True
    return dose.status == DoseEvent.Status.SCHEDULED and dose.due_at - EARLY_CONFIRM <= now


@dataclass
class DayOfDoses:
    day: date
    doses: list
    more: int  # doses of that day not listed


@dataclass
class DoseOverview:
    """A patient's doses for a phone screen: what can be confirmed now, today's and the next days' coming doses
    (a few per day, the rest counted), and the history as a page of a Paginator."""

    confirmable: list
    coming: list  # [DayOfDoses], today first
    history: object  # django.core.paginator.Page of past doses, newest first
    today: date


def dose_overview(patient: Patient, *, now: datetime | None = None, days_ahead: int = 2, per_day: int = 6,
                  history_page=1, history_per_page: int = 20) -> DoseOverview:
    now = now or timezone.now()
    today = now.astimezone(patient.tz).date()
    doses = patient.doses.exclude(status=DoseEvent.Status.CANCELLED).select_related("plan")
    open_rule = Q(status__in=[*DoseEvent.OPEN, DoseEvent.Status.MISSED]) | Q(
        status=DoseEvent.Status.SCHEDULED, due_at__lte=now + EARLY_CONFIRM)
    # Open doses of today and yesterday only: an older open one can no longer be answered usefully.
    confirmable = list(doses.filter(open_rule, local_date__gte=today - timedelta(days=1))
                       .order_by("-due_at", "-id")[:per_day * 2])
    shown = {dose.pk for dose in confirmable}
    coming = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        later = doses.filter(local_date=day, status=DoseEvent.Status.SCHEDULED, due_at__gt=now + EARLY_CONFIRM)
        listed = [dose for dose in later.order_by("due_at", "id")[:per_day] if dose.pk not in shown]
        if listed:
            coming.append(DayOfDoses(day=day, doses=listed, more=max(0, later.count() - len(listed))))
    past = doses.filter(due_at__lte=now).exclude(pk__in=shown).order_by("-due_at", "-id")
    history = Paginator(past, history_per_page).get_page(history_page)
    return DoseOverview(confirmable=confirmable, coming=coming, history=history, today=today)


def plan_times_summary(plan: MedicationPlan, *, shown: int = 6) -> dict:
    """A plan's times of day for a list: the first few and how many more (a demo plan has 288 a day)."""
    times = list(plan.times or [])
    return {"times": times[:shown], "more": max(0, len(times) - shown), "count": len(times)}


# --- Who sees what ----------------------------------------------------------------------------------------


def can_treat_patients(user) -> bool:
    """Verified doctors enrol their patients and keep their medication plans; sales reps never (engage.core.roles)."""
    return can(user, Capability.TREAT_PATIENTS) and access_level_of(user) >= AccessLevel.VERIFIED


def can_edit_plans(user, patient: Patient) -> bool:
    """Only the patient's treating doctor, verified, adds or changes their medication plans."""
    return patient.doctor_id is not None and patient.doctor_id == getattr(user, "pk", None) and can_treat_patients(user)


def patients_visible_to(user) -> QuerySet[Patient]:
    """Treating doctors see their patients; programme staff (a staff role and listed on the programme) see the
    programme's patients; sales reps and everyone else see none."""
    rule = Q(pk__in=[])
    if can(user, Capability.TREAT_PATIENTS):
        rule |= Q(doctor=user)
    if can(user, Capability.VIEW_PROGRAMME_PATIENTS):
        rule |= Q(programme__staff=user)
    if not rule.children[1:]:
        return Patient.objects.none()
    return Patient.objects.filter(rule).distinct()


def access_patient(*, user, patient_id) -> Patient:
    """The patient when `user` may see them (patients_visible_to); NotFound otherwise, with no hint."""
    patient = patients_visible_to(user).select_related("programme").filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("patient_not_found", _("No such patient."))
    return patient


def can_view_programmes(user) -> bool:
    """Staff who may be listed on a programme see the adherence of the programmes that list them."""
    return can(user, Capability.VIEW_PROGRAMME_PATIENTS)


def access_medication_plan(*, user, medication_plan_id) -> MedicationPlan:
    """The plan when `user` may see its patient (patients_visible_to); NotFound otherwise."""
    plan = (MedicationPlan.objects.filter(patient__in=patients_visible_to(user), pk=medication_plan_id)
            .select_related("patient", "patient__programme").first())
    if plan is None:
        raise NotFound("plan_not_found", _("No such plan."))
    return plan


def access_follow_up_plan(*, user, follow_up_plan_id) -> FollowUpPlan:
    """The check-up plan when `user` may see its patient (patients_visible_to); NotFound otherwise."""
    plan = (FollowUpPlan.objects.filter(patient__in=patients_visible_to(user), pk=follow_up_plan_id)
            .select_related("patient", "patient__programme").first())
    if plan is None:
        raise NotFound("follow_up_not_found", _("No such check-up."))
    return plan


def programmes_visible_to(user) -> QuerySet[Programme]:
    if not can_view_programmes(user):
        return Programme.objects.none()
    return Programme.objects.filter(staff=user).distinct()


def access_programme(*, user, programme_id) -> Programme:
    """The programme when `user` is on its staff; NotFound otherwise."""
    programme = programmes_visible_to(user).filter(pk=programme_id).first()
    if programme is None:
        raise NotFound("programme_not_found", _("No such programme."))
    return programme


# --- Adherence --------------------------------------------------------------------------------------------

DUE_STATUSES = (DoseEvent.Status.QUEUED, DoseEvent.Status.SENT, DoseEvent.Status.TAKEN, DoseEvent.Status.SKIPPED,
                DoseEvent.Status.MISSED)


@dataclass(frozen=True)
class Adherence:
    due: int
    taken_on_time: int

    @property
    def rate(self) -> float | None:
        return self.taken_on_time / self.due if self.due else None

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{self.rate * 100:.0f}%"


def _adherence_counts(doses: QuerySet, now: datetime):
    # Due: doses whose time came and whose reminder went out (expired and cancelled ones were never asked for).
    return doses.filter(due_at__lte=now, status__in=DUE_STATUSES).aggregate(
        due=Count("id"),
        on_time=Count("id", filter=Q(status=DoseEvent.Status.TAKEN,
                                     confirmed_at__lte=F("due_at") + CONFIRM_WINDOW)),
    )


def adherence_of_patient(patient: Patient, *, days: int = 30, now: datetime | None = None) -> Adherence:
    now = now or timezone.now()
    counts = _adherence_counts(DoseEvent.objects.filter(patient=patient, due_at__gt=now - timedelta(days=days)), now)
    return Adherence(counts["due"], counts["on_time"])


def adherence_by_patient(patients: QuerySet[Patient], *, days: int = 30, now: datetime | None = None
                         ) -> dict[int, Adherence]:
    now = now or timezone.now()
    rows = (DoseEvent.objects.filter(patient__in=patients, due_at__gt=now - timedelta(days=days), due_at__lte=now,
                                     status__in=DUE_STATUSES)
            .values("patient_id")
            .annotate(due=Count("id"), on_time=Count("id", filter=Q(status=DoseEvent.Status.TAKEN,
                                                                    confirmed_at__lte=F("due_at") + CONFIRM_WINDOW))))
    return {r["patient_id"]: Adherence(r["due"], r["on_time"]) for r in rows}


def adherence_of_programme(programme: Programme, *, days: int = 30, now: datetime | None = None) -> Adherence:
    now = now or timezone.now()
    counts = _adherence_counts(
        DoseEvent.objects.filter(patient__programme=programme, due_at__gt=now - timedelta(days=days)), now)
    return Adherence(counts["due"], counts["on_time"])


def reminders_member_section(*, user) -> PageSection | None:
    """The member page's link to a verified doctor's patients (MEMBER_SECTIONS_HOOK)."""
    if not can_treat_patients(user):
        return None
    return PageSection(key="patients", template="reminders/member_section.html", order=30)
