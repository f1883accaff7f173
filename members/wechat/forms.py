from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class BindMobileForm(forms.Form):
    """Binding a WeChat log-in: the mobile number (a code is sent to it), the code, and the privacy consent."""

    phone = forms.CharField(label=_("Mobile number"), max_length=20)
    code = forms.CharField(label=_("Verification code"), max_length=6, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        link = format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', reverse("privacy_policy"),
                           gettext("Privacy policy"))
        self.fields["accept_privacy"] = forms.BooleanField(
            label=format_html(gettext("I have read and agree to the {policy}"), policy=link), required=False)
