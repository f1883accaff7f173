from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from members.accounts.phone import normalise_mobile


class SignupForm(AllauthSignupForm):
    """Sign-up with a mobile number, an email address, or both; at least one is needed."""

    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("email") and not self.errors:
            raise forms.ValidationError(
                _("Enter a mobile number or an email address."), code="mobile_or_email_required"
            )
        return cleaned

    def save(self, request):
        user = super().save(request)
        name = (self.cleaned_data.get("display_name") or "").strip()
        if name:
            user.display_name = name
            user.save(update_fields=["display_name"])
        return user


class LoginForm(AllauthLoginForm):
    """Mobile number or email; with a password it logs in at once, without one it sends a one-time code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].required = False
            self.fields["password"].help_text = _("Leave empty to receive a one-time code instead.")

    def clean_login(self) -> str:
        login = super().clean_login()
        if "@" in login:
            return login
        # 138 0013 8000 and +86 13800138000 are the same person: compare numbers in E.164.
        try:
            return normalise_mobile(login)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("Enter your mobile number or email address."), code="invalid_login"
            ) from None
