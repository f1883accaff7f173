"""allauth hooks: where the mobile number lives on our User and how codes reach the phone."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from engage.core.clients import client_ip
from engage.messaging.services import message_enqueue
from members.accounts.models import User
from members.accounts.phone import MobileField, normalise_mobile
from members.accounts.services import username_generate
from members.consents.models import Consent
from members.consents.services import consents_set
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """Rate limits count by the same client address as the audit trail and check-in scans."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def phone_form_field(self, **kwargs):
        kwargs.pop("validators", None)
        kwargs["label"] = _("Mobile number")
        return MobileField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return normalise_mobile(phone)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        from allauth.account import app_settings

        message_enqueue(
            channel="sms",
            to=phone,
            template_key="verification_code",
            params={"code": code, "minutes": max(1, app_settings.LOGIN_BY_CODE_TIMEOUT // 60)},
            user=user if getattr(user, "pk", None) else None,
            language=translation.get_language() or "zh-hans",
            send_now=True,  # the person is waiting at the form for it
        )

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        """Nothing: a code for an unknown number simply never arrives (no account enumeration, no SMS to strangers)."""

    def save_user(self, request, user, form, commit=True):
        # The row needs a mobile number or an email to exist (a database constraint); allauth would
        # only attach the number after the first save, so it goes in before.
        phone = form.cleaned_data.get("phone")
        if phone:
            user.mobile = phone
            user.mobile_verified = False
        with transaction.atomic():  # no account without its privacy consent (PIPL)
            user = super().save_user(request, user, form, commit=commit)
            if user.pk:
                consents_set(user=user, privacy=bool(form.cleaned_data.get("accept_privacy")), marketing={},
                             method=getattr(form, "consent_method", Consent.Method.WEB_FORM),
                             ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
                # The first entry of the doctor's engagement history; the source key makes it once per person.
                engagement_record(doctor=user, kind=EngagementKind.JOINED, source_key=f"member.joined:{user.pk}",
                                  occurred_at=user.date_joined)
        return user

    def set_phone(self, user, phone: str, verified: bool) -> None:
        # During sign-up this runs before the first save: the row needs the number to exist at all.
        user.mobile = phone
        user.mobile_verified = verified
        if user.pk:
            user.save(update_fields=["mobile", "mobile_verified"])

    def get_phone(self, user):
        if not user.mobile:
            return None
        return user.mobile, user.mobile_verified

    def set_phone_verified(self, user, phone: str) -> None:
        if user.mobile == phone:
            user.mobile_verified = True
            user.save(update_fields=["mobile_verified"])

    def get_user_by_phone(self, phone: str):
        return User.objects.filter(mobile=phone, is_active=True).first()

    def populate_username(self, request, user):
        # Usernames are internal handles; people sign in with their mobile number or email.

        if not user.username:
            user.username = username_generate()


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        # WeChat log-in exists exactly when the Official Account is configured (WECHAT_APP_ID, WECHAT_APP_SECRET).
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        if provider in (None, "weixin") and not any(app.provider == "weixin" for app in apps) \
                and settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET \
                and client_id in (None, settings.WECHAT_APP_ID):
            apps.append(SocialApp(provider="weixin", name="WeChat", client_id=settings.WECHAT_APP_ID,
                                  secret=settings.WECHAT_APP_SECRET))
        return apps

    def pre_social_login(self, request, sociallogin) -> None:
        # A WeChat identity without an account: a guest (silent log-in) or on to binding a mobile number by code —
        # never allauth's sign-up, which would ask for a number without proving it is the person's.
        if sociallogin.account.provider == "weixin" and not sociallogin.is_existing \
                and sociallogin.state.get("process") != "connect":
            from members.wechat.views import pending_identity_response  # views import adapters' module graph

            raise ImmediateHttpResponse(pending_identity_response(request, sociallogin))

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        # A first WeChat log-in always lands on the sign-up form: the privacy consent (and a mobile number or
        # email, which every account needs) come before the account.
        return False

    def save_user(self, request, sociallogin, form=None):
        # The account, its privacy consent (recorded by AccountAdapter.save_user) and the WeChat link: all or none.
        with transaction.atomic():
            return super().save_user(request, sociallogin, form=form)
