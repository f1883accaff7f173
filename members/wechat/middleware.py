"""Inside WeChat (a MicroMessenger user agent): a page's first visit signs a bound doctor in silently
(`snsapi_base`: no prompt), once per session; anyone else stays a guest. The log-in page asks WeChat for the
profile (`snsapi_userinfo`) — reached only when a guest acts (registers, opens gated content)."""

from urllib.parse import urlparse

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from members.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO
from members.wechat.selectors import wechat_enabled

TRIED_KEY = "wechat_base_tried"
SKIP_PREFIXES = ("/admin", "/api/", "/webhooks/", "/accounts/", "/static/", "/media/", "/documents/", "/django-admin",
                 "/members/wechat/", "/health", "/ws/", "/favicon")


def _same_site_referer(request) -> str:
    """Where the guest tapped "register": back there afterwards (a page of this site only)."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        parsed = urlparse(referer)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return ""


def in_wechat(request) -> bool:
    return "MicroMessenger" in request.META.get("HTTP_USER_AGENT", "")


class WeChatLoginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and in_wechat(request) and not request.user.is_authenticated \
                and wechat_enabled():
            path = request.path
            if path in (reverse("account_login"), reverse("account_signup")):
                nxt = request.GET.get("next") or _same_site_referer(request) or "/"
                return HttpResponseRedirect(
                    f"{reverse('wechat_authorize')}?{urlencode({'scope': SCOPE_USERINFO, 'next': nxt})}")
            if not request.session.get(TRIED_KEY) and not path.startswith(SKIP_PREFIXES) \
                    and not request.headers.get("HX-Request"):
                request.session[TRIED_KEY] = True
                return HttpResponseRedirect(f"{reverse('wechat_authorize')}?"
                                            f"{urlencode({'scope': SCOPE_BASE, 'next': request.get_full_path()})}")
        return self.get_response(request)
