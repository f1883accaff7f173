"""Sends a signed-in person to the privacy consent page until they hold a consent to the privacy policy in force:
after a new version, and equally when they never agreed (an account from before sign-up asked, a WeChat log-in)."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from members.consents.selectors import privacy_consent_needed

# Pages that must work without a current consent: signing in, up and out, the consent page and the policy itself,
# withdrawing and closing the account, the admin, the API (it answers in JSON), provider webhooks, static files and
# health checks.
EXEMPT_PREFIXES = (
    "/accounts/", "/admin/", "/django-admin/", "/api/", "/static/", "/media/", "/healthz", "/i18n/", "/jsi18n/", "/ws/",
    "/documents/", "/webhooks/",
    "/members/consents/", "/members/me/close/", "/members/me/data.",
)


class PrivacyConsentMiddleware:
    """One query per signed-in page view (remembered on the user for the request); only GET pages redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.method == "GET"
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not request.headers.get("HX-Request")
            and privacy_consent_needed(user)
        ):
            return redirect(reverse("privacy_reconsent") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
