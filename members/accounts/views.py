from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from engage.core.sections import MEMBER_SECTIONS_HOOK, page_sections
from members.accounts.selectors import member_page_flags
from members.profiles.models import DoctorProfile


@login_required
def member_home(request):
    user = request.user
    return render(
        request,
        "members/accounts/member_home.html",
        {
            "member": user,
            **member_page_flags(user),
            "sections": page_sections(MEMBER_SECTIONS_HOOK, user=user),
            "profile": DoctorProfile.objects.filter(user=user).select_related("hospital", "department").first(),
        },
    )


def _too_many_attempts_is_429(allauth_view):
    """allauth re-shows the form with "too many attempts" as a 200; we answer it as what it is, a 429 (with the
    same translated form error), so clients and monitoring see the limit."""

    def view(request, *args, **kwargs):
        response = allauth_view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if response.status_code == 200 and form is not None and form.is_bound and any(
            error.code == "too_many_login_attempts" for errors in form.errors.as_data().values() for error in errors
        ):
            response.status_code = 429
        return response

    return view


login = _too_many_attempts_is_429(allauth_views.login)
request_login_code = _too_many_attempts_is_429(allauth_views.request_login_code)

_allauth_confirm_login_code = allauth_views.ConfirmLoginCodeView.as_view()


def confirm_login_code(request, *args, **kwargs):
    """allauth's code confirmation, plus a clear message when the code expired or was already used."""
    response = _allauth_confirm_login_code(request, *args, **kwargs)
    expired = response.status_code == 302 and response.url == reverse("account_request_login_code")
    if request.method == "POST" and expired:
        messages.error(request, _("This code has expired or has already been used. Request a new code."))
    return response
