"""The privacy policy in force, readable by anyone (linked from the sign-up forms, before there is an account)."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from members.consents.models import ConsentKind
from members.consents.selectors import policy_current


@require_GET
def privacy_policy(request):
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    policy = policy_current(ConsentKind.PRIVACY, language)
    if policy is None:
        raise Http404
    return render(request, "members/consents/privacy_policy.html", {"policy": policy})
