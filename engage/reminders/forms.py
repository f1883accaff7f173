"""Form parsing for the reminder pages. Validation of the domain (consent, ranges) happens in the services."""

import zoneinfo
from datetime import time

from django import forms
from django.utils.translation import gettext_lazy as _

from engage.reminders.models import MedicationPlan, Patient

COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Tokyo", "Asia/Singapore", "Europe/London",
                "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Australia/Sydney"]


def _zone_choices():
    others = sorted(zoneinfo.available_timezones() - set(COMMON_ZONES))
    return [(z, z) for z in COMMON_ZONES + others]


class EnrolmentForm(forms.Form):
    """The patient's details and consents; the guardian block is needed for patients under 14."""

    name = forms.CharField(label=_("Patient's name"), max_length=100)
    mobile = forms.CharField(label=_("Mobile number"), max_length=20,
                             widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    birth_date = forms.DateField(label=_("Birth date"),
                                 widget=forms.DateInput(attrs={"type": "date"}))
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    language = forms.ChoiceField(label=_("Language of messages"), choices=Patient.Language.choices,
                                 initial=Patient.Language.ZH)
    consent_version = forms.CharField(widget=forms.HiddenInput, required=False)
    consent_programme = forms.BooleanField(label=_("I agree to take part in the programme (text above)."),
                                           required=False)
    consent_health = forms.BooleanField(
        label=_("I separately agree to the processing of my health information (medication, doses, reported "
                "values) as described above."), required=False)
    consent_sms = forms.BooleanField(label=_("Send my reminders by SMS."), required=False, initial=True)
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
    drug = forms.CharField(label=_("Drug"), max_length=200)
    dose_text = forms.CharField(label=_("Dose"), max_length=200)
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
    start_date = forms.DateField(label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
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


class ReportValueForm(forms.Form):
    value = forms.CharField(label=_("Blood glucose"), max_length=10,
                            widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    unit = forms.ChoiceField(label=_("Unit"), choices=[("mmol/L", "mmol/L"), ("mg/dL", "mg/dL")])
    note = forms.CharField(label=_("How do you feel? (optional)"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class PhoneReplyForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(max_length=500)
