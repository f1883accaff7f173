"""Asks a signed-in person to agree again when the privacy policy they agreed to is no longer the one in force."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from members.consents.selectors import privacy_consent_outdated

# Pages that must work without a current consent: signing in and out, the re-consent page itself, withdrawing
# and closing the account, the admin, the API (it answers in JSON), static files and health checks.
EXEMPT_PREFIXES = (
    "/accounts/", "/admin/", "/django-admin/", "/api/", "/static/", "/media/", "/healthz", "/i18n/", "/jsi18n/", "/ws/",
    "/documents/",
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
            and privacy_consent_outdated(user)
        ):
            return redirect(reverse("privacy_reconsent") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
