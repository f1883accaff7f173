"""The meeting page's admin form: professional titles and provinces picked from lists instead of typed JSON."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminPageForm

from engage.core.errors import DomainError
from events.pages.provinces import PROVINCES
from members.profiles.models import DoctorProfile


class EventPageForm(WagtailAdminPageForm):
    audience_titles = forms.MultipleChoiceField(
        label=_("professional titles"), required=False, choices=DoctorProfile.Title.choices,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every title."),
    )
    audience_provinces = forms.MultipleChoiceField(
        label=_("provinces"), required=False, choices=[(p, p) for p in PROVINCES],
        widget=forms.SelectMultiple(attrs={"size": 8}), help_text=_("None chosen: every province."),
    )

    def clean(self):
        cleaned = super().clean()
        capacity = cleaned.get("capacity")
        if self.instance.pk and capacity is not None:
            from events.registrations.services import (
                quota_capacity_check,  # the page's base form: registrations import the page model
            )

            try:  # seats taken in the open quota plus seats allocated to regions and reps
                quota_capacity_check(event=self.instance, capacity=capacity)
            except DomainError as error:
                self.add_error("capacity", str(error.message))
        return cleaned
