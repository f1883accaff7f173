"""Date and time inputs round-trip in both languages: what a form renders into an <input type="date"/"time"> is
what the browser's picker accepts (ISO) and what the form accepts back unchanged, in zh-hans and in English."""

import re
from datetime import date, time

import pytest
from django import forms
from django.utils import translation

from cms.review.forms import CompliancePasswordForm
from engage.core.widgets import DateInput, TimeInput
from engage.reminders.forms import EnrolmentForm, FollowUpForm, PlanForm
from members.engagement.admin import TimelineFilterForm
from members.points.views import HistoryFilterForm

FORMS = [
    (EnrolmentForm, {}), (PlanForm, {}), (FollowUpForm, {"editing": True}), (FollowUpForm, {}),
    (TimelineFilterForm, {}), (HistoryFilterForm, {}), (CompliancePasswordForm, {}),
]
VALUES = {forms.DateField: date(2026, 12, 3), forms.TimeField: time(8, 5)}
ISO = {forms.DateField: "2026-12-03", forms.TimeField: "08:05"}


def _temporal_fields(form):
    for name, field in form.fields.items():
        for kind in (forms.DateField, forms.TimeField):
            if type(field) is kind or (isinstance(field, kind) and not isinstance(field, forms.DateTimeField)):
                yield name, field, kind


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("form_class", "kwargs"), FORMS, ids=[f"{f.__name__}{k}" for f, k in FORMS])
def test_a_pre_filled_date_or_time_is_rendered_as_iso_and_validates_unchanged(language, form_class, kwargs):
    with translation.override(language):
        probe = form_class(**kwargs)
        fields = list(_temporal_fields(probe))
        assert fields, f"{form_class.__name__} has no date or time field"
        initial = {name: VALUES[kind] for name, _field, kind in fields}
        form = form_class(initial=initial, **kwargs)
        for name, field, kind in fields:
            html = str(form[name])
            assert isinstance(field.widget, DateInput if kind is forms.DateField else TimeInput), name
            assert f'type="{"date" if kind is forms.DateField else "time"}"' in html, html
            rendered = re.search(r'value="([^"]*)"', html).group(1)
            assert rendered == ISO[kind], (language, name, rendered)
            assert field.clean(rendered) == VALUES[kind]  # posting the pre-filled value back changes nothing


def test_the_medication_plan_form_accepts_its_own_pre_filled_start_date_in_chinese():
    with translation.override("zh-hans"):
        form = PlanForm(initial={"start_date": date(2026, 12, 3)})
        rendered = re.search(r'value="([^"]*)"', str(form["start_date"])).group(1)
        assert rendered == "2026-12-03"  # not 2026/12/03, which <input type="date"> drops
        assert form.fields["start_date"].clean(rendered) == date(2026, 12, 3)
