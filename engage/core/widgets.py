"""Form widgets for the browser's own date and time pickers. An <input type="date"> reads and writes only ISO
values (2026-12-03), whatever the page's language; Django's default would render the locale's format
(2026/12/03 in zh-hans), which the picker rejects, so the form would not round-trip."""

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")
