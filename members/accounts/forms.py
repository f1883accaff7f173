from allauth.account.adapter import get_adapter
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.socialaccount.forms import SignupForm as AllauthSocialSignupForm
from django import forms
from django.contrib.auth import authenticate
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.auth import LoginForm as WagtailLoginForm

from members.accounts.phone import normalise_mobile
from members.consents.models import Consent


class SignupConsentMixin:
    """What every sign-up form asks: a mobile number or an email (at least one), and the privacy consent, which
    the account adapter records with the account (`consent_method` says how it was given)."""

    consent_method = Consent.Method.WEB_FORM

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        link = format_html('<a href="{}" target="_blank" rel="noopener" data-testid="privacy-policy-link">{}</a>',
                           reverse("privacy_policy"), gettext("Privacy policy"))
        self.fields["accept_privacy"] = forms.BooleanField(
            label=format_html(gettext("I have read and agree to the {policy}"), policy=link),
            error_messages={"required": _("Agree to the privacy policy to sign up.")},
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("email") and not self.errors:
            raise forms.ValidationError(
                _("Enter a mobile number or an email address."), code="mobile_or_email_required"
            )
        return cleaned


class SignupForm(SignupConsentMixin, AllauthSignupForm):
    """Sign-up with a mobile number, an email address, or both; at least one is needed."""

    display_name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100, required=False)

    def save(self, request):
        user = super().save(request)
        name = (self.cleaned_data.get("display_name") or "").strip()
        if name:
            user.display_name = name
            user.save(update_fields=["display_name"])
        return user


class SocialSignupForm(SignupConsentMixin, AllauthSocialSignupForm):
    """After a first WeChat log-in, before the account exists: a mobile number or email, and the privacy consent."""

    consent_method = Consent.Method.WECHAT


class LoginForm(AllauthLoginForm):
    """Mobile number or email; with a password it logs in at once, without one it sends a one-time code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].required = False
            self.fields["password"].help_text = _("Leave empty to receive a one-time code instead.")

    def add_error(self, field, error):
        # allauth copies the code request's errors onto "login" as bare text: keep the code of "too many attempts"
        # so the page can answer 429.
        adapter = get_adapter()
        if isinstance(error, str) and error == str(adapter.error_messages["too_many_login_attempts"]):
            error = adapter.validation_error("too_many_login_attempts")
        super().add_error(field, error)

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


class AdminLoginForm(WagtailLoginForm):
    """The admin's log-in (settings.WAGTAILADMIN_USER_LOGIN_FORM): staff sign in with their email or mobile number
    and password, as on the site, so the form asks for those instead of a user name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email or mobile number")
        self.fields["username"].widget.attrs["placeholder"] = _("Email or mobile number")
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].label = _("Password")
        self.fields["password"].widget.attrs["placeholder"] = _("Password")

    def clean(self):
        login, password = self.cleaned_data.get("username") or "", self.cleaned_data.get("password") or ""
        if login and password and "@" not in login:
            try:
                phone = normalise_mobile(login)
            except forms.ValidationError:
                phone = ""
            user = authenticate(self.request, phone=phone, password=password) if phone else None
            if user is not None:
                self.user_cache = user
                self.confirm_login_allowed(user)
                return self.cleaned_data
        return super().clean()

    def get_invalid_login_error(self):
        return forms.ValidationError(_("Your email or mobile number and password didn't match. Please try again."),
                                     code="invalid_login")
