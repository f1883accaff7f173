"""Mobile numbers are stored in E.164. Chinese users type 11 digits; we add +86 for them."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalise_mobile(raw: str) -> str:
    """Return the number in E.164 or raise ValidationError with a message for the user."""
    value = re.sub(r"[\s\-()]", "", raw or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if _CN_MOBILE.match(value):
        return "+86" + value
    if value.startswith("+86"):
        if not _CN_MOBILE.match(value[3:]):
            raise ValidationError(_("Enter a valid mainland China mobile number (11 digits starting with 1)."),
                                  code="invalid_mobile")
        return value
    if _E164.match(value):
        return value
    raise ValidationError(
        _("Enter a valid mobile number: 11 digits, or an international number starting with +."),
        code="invalid_mobile",
    )


class MobileField(forms.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"placeholder": _("Mobile number"), "autocomplete": "tel", "type": "tel",
                       "inputmode": "tel"}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalise_mobile(value) if value else value
