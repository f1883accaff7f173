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


_allauth_confirm_login_code = allauth_views.ConfirmLoginCodeView.as_view()


def confirm_login_code(request, *args, **kwargs):
    """allauth's code confirmation, plus a clear message when the code expired or was already used."""
    response = _allauth_confirm_login_code(request, *args, **kwargs)
    expired = response.status_code == 302 and response.url == reverse("account_request_login_code")
    if request.method == "POST" and expired:
        messages.error(request, _("This code has expired or has already been used. Request a new code."))
    return response
