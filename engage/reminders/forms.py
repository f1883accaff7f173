"""Form parsing for the reminder pages. Validation of the domain (consent, ranges) happens in the services."""

import zoneinfo
from datetime import time

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from engage.core.widgets import DateInput, TimeInput
from engage.reminders.models import MAX_TAPER_STEPS, FollowUpPlan, MedicationPlan, Patient
from engage.reminders.services import FollowUpSchedule, PlanSchedule, TaperStep

# The zones patients of a Chinese programme live in, China first; a short list a patient can read, not 600 names.
COMMON_ZONES = [
    ("Asia/Shanghai", _("China (Beijing time)")),
    ("Asia/Hong_Kong", _("Hong Kong")),
    ("Asia/Taipei", _("Taipei")),
    ("Asia/Tokyo", _("Tokyo")),
    ("Asia/Seoul", _("Seoul")),
    ("Asia/Singapore", _("Singapore")),
    ("Europe/London", _("London")),
    ("Europe/Berlin", _("Berlin / Paris")),
    ("America/New_York", _("New York")),
    ("America/Los_Angeles", _("Los Angeles")),
    ("Australia/Sydney", _("Sydney")),
]


def _zone_choices():
    return [(zone, label) for zone, label in COMMON_ZONES if zone in zoneinfo.available_timezones()]


class EnrolmentForm(forms.Form):
    """The patient's details and consents; the guardian block is needed for patients under 14."""

    name = forms.CharField(label=_("Patient's name"), max_length=100)
    mobile = forms.CharField(label=_("Mobile number"), max_length=20,
                             widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    birth_date = forms.DateField(label=_("Birth date"),
                                 widget=DateInput())
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    language = forms.ChoiceField(label=_("Language of messages"), choices=Patient.Language.choices,
                                 initial=Patient.Language.ZH)
    consent_version = forms.CharField(widget=forms.HiddenInput, required=False)
    consent_programme = forms.BooleanField(label=_("I agree to take part in the programme (text above)."),
                                           required=False)
    consent_health = forms.BooleanField(
        label=_("I separately agree to the processing of my health information (medication, doses, reported "
                "values) as described above."), required=False)
    consent_sms = forms.BooleanField(label=_("Send my reminders by SMS."), required=False)  # the patient ticks it
    # Shown only when the page was opened in WeChat and the openid was captured (snsapi_base): WeChat first, SMS
    # only if ticked too.
    consent_wechat = forms.BooleanField(label=_("Send my reminders by WeChat."), required=False)
    guardian_name = forms.CharField(label=_("Guardian's name (patients under 14)"), max_length=100, required=False)
    guardian_relationship = forms.CharField(label=_("Relationship"), max_length=50, required=False)
    guardian_mobile = forms.CharField(label=_("Guardian's mobile number"), max_length=20, required=False,
                                      widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    guardian_consent = forms.BooleanField(
        label=_("As guardian (or caregiver) I agree to the programme and to the processing of the patient's health "
                "information, and to be told by SMS when a dose is missed."), required=False)

    def __init__(self, *args, programmes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zone_choices()
        if programmes is not None:
            self.fields = {"programme": forms.ModelChoiceField(label=_("Programme"), queryset=programmes),
                           **self.fields}


class PlanForm(forms.Form):
    """A medication plan, with taper steps as repeated `taper_dose` / `taper_days` input rows (no formset, no
    script: blank rows are ignored, so the page can always offer a few spare rows)."""

    drug = forms.CharField(label=_("Drug"), max_length=200)
    dose_text = forms.CharField(label=_("Dose"), max_length=200, required=False,
                                help_text=_("May stay empty for a tapering plan: each step names its dose."))
    times = forms.CharField(label=_("Times of day"), help_text=_("e.g. 08:00, 20:00"), max_length=2000,
                            required=False)
    schedule_kind = forms.ChoiceField(label=_("Schedule"), choices=MedicationPlan.ScheduleKind.choices)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
                 (6, _("Sun"))])
    interval_days = forms.IntegerField(label=_("Every N days"), min_value=1, max_value=365, initial=1)
    cycle_active_days = forms.IntegerField(label=_("Cycle: days on"), min_value=1, max_value=365, required=False)
    cycle_pause_days = forms.IntegerField(label=_("Cycle: days off"), min_value=1, max_value=365, required=False)
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    end_date = forms.DateField(label=_("End date"), required=False, widget=DateInput())
    as_needed = forms.BooleanField(label=_("As needed (no reminders)"), required=False)

    def clean_times(self):
        raw = self.cleaned_data["times"].replace("，", ",").replace("：", ":")
        items = [t.strip() for t in raw.split(",") if t.strip()]
        out = []
        for item in items:
            try:
                out.append(time.fromisoformat(item).strftime("%H:%M"))
            except ValueError:
                raise forms.ValidationError(_("%(value)s is not a time of day (HH:MM).") % {"value": item}) from None
        return out

    def clean(self):
        data = super().clean()
        doses = self.data.getlist("taper_dose") if hasattr(self.data, "getlist") else []
        days = self.data.getlist("taper_days") if hasattr(self.data, "getlist") else []
        steps = []
        for dose, count in zip(doses, days, strict=False):
            dose, count = dose.strip(), count.strip()
            if not dose and not count:
                continue
            if not dose or not count.isdigit() or not 1 <= int(count) <= 365:
                raise forms.ValidationError(_("Each taper step needs a dose and 1 to 365 days."))
            steps.append(TaperStep(dose=dose[:200], days=int(count)))
        if len(steps) > MAX_TAPER_STEPS:
            raise forms.ValidationError(_("Give at most %(max)s taper steps.") % {"max": MAX_TAPER_STEPS})
        data["taper"] = steps
        return data

    def schedule(self) -> PlanSchedule:
        d = self.cleaned_data
        cycle = ((d["cycle_active_days"], d["cycle_pause_days"])
                 if d.get("cycle_active_days") and d.get("cycle_pause_days") else None)
        return PlanSchedule(drug=d["drug"], dose_text=d.get("dose_text") or "", times=d["times"],
                            start_date=d["start_date"], end_date=d.get("end_date"), schedule_kind=d["schedule_kind"],
                            weekdays=d.get("weekdays") or [], interval_days=d.get("interval_days") or 1, cycle=cycle,
                            as_needed=d["as_needed"], taper=d["taper"])

    def taper_rows(self, spare: int = 2) -> list[tuple[str, str]]:
        """The taper rows to show: what was posted (or the plan's steps), then `spare` empty rows, at least four."""
        if self.is_bound and hasattr(self.data, "getlist"):
            rows = [(dose, days) for dose, days in zip(self.data.getlist("taper_dose"),
                                                        self.data.getlist("taper_days"), strict=False)
                    if dose.strip() or days.strip()]
        else:
            rows = [(step["dose"], str(step["days"])) for step in self.initial.get("taper_steps", [])]
        return rows + [("", "")] * max(spare, 4 - len(rows))

    @staticmethod
    def initial_of(plan: MedicationPlan) -> dict:
        return {"drug": plan.drug, "dose_text": "" if plan.taper_steps else plan.dose_text,
                "times": ", ".join(plan.times), "schedule_kind": plan.schedule_kind, "weekdays": plan.weekdays,
                "interval_days": plan.interval_days, "cycle_active_days": plan.cycle_active_days,
                "cycle_pause_days": plan.cycle_pause_days, "start_date": plan.start_date,
                "end_date": None if plan.taper_steps else plan.end_date, "as_needed": plan.as_needed,
                "taper_steps": plan.taper_steps}


class FollowUpForm(forms.Form):
    """A check-up: repeating every N days (HbA1c every 90 days) or, with no interval, a one-off visit."""

    title = forms.CharField(label=_("Check-up"), max_length=200)
    due_date = forms.DateField(label=_("Due on"), widget=DateInput())
    interval_days = forms.IntegerField(label=_("Repeat every N days"), min_value=1, max_value=730, required=False,
                                       help_text=_("e.g. 90 for HbA1c; leave empty for a one-off visit."))
    remind_at = forms.TimeField(label=_("Remind at"), initial=time(9, 0),
                                widget=TimeInput())
    is_active = forms.BooleanField(label=pgettext_lazy("check-up", "Active"), required=False, initial=True)
    # A check-up repeating in months (written before intervals in days) keeps that interval unless days are given.
    interval_months = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=24, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["is_active"], self.fields["interval_months"]

    def schedule(self) -> FollowUpSchedule:
        d = self.cleaned_data
        days = d.get("interval_days")
        return FollowUpSchedule(title=d["title"], due_date=d["due_date"], interval_days=days,
                                interval_months=None if days else d.get("interval_months"), remind_at=d["remind_at"])

    @staticmethod
    def initial_of(plan: FollowUpPlan) -> dict:
        return {"title": plan.title, "due_date": plan.next_due_date, "interval_days": plan.interval_days,
                "interval_months": plan.interval_months, "remind_at": plan.remind_at, "is_active": plan.is_active}


class ReportValueForm(forms.Form):
    value = forms.CharField(label=_("Blood glucose"), max_length=10,
                            widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    unit = forms.ChoiceField(label=_("Unit"), choices=[("mmol/L", "mmol/L"), ("mg/dL", "mg/dL")])
    note = forms.CharField(label=_("How do you feel? (optional)"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class PhoneReplyForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(max_length=500)
