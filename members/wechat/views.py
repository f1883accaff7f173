"""WeChat log-in pages: allauth's OAuth2 views for the Official Account provider (allauth imports oauth2_login and
oauth2_callback from here), the authorisation start a page links to, the mobile-number binding that follows a first
authorisation, and unbinding from the account page."""

from allauth.account.utils import perform_login
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from engage.core.clients import client_ip
from engage.core.errors import DomainError
from members.wechat.forms import BindMobileForm
from members.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO, OfficialAccountOAuth2Adapter
from members.wechat.selectors import wechat_enabled
from members.wechat.services import wechat_bind_code_send, wechat_bind_complete, wechat_unbind


def _only_when_configured(view):
    """Without an Official Account there is no WeChat log-in: 404, not allauth's missing-app error."""

    def wrapped(request, *args, **kwargs):
        if not wechat_enabled():
            raise Http404("WeChat is not configured")
        return view(request, *args, **kwargs)

    return wrapped


oauth2_login = _only_when_configured(OAuth2LoginView.adapter_view(OfficialAccountOAuth2Adapter))
oauth2_callback = _only_when_configured(OAuth2CallbackView.adapter_view(OfficialAccountOAuth2Adapter))

PENDING_KEY = "wechat_pending"  # session: the WeChat identity waiting for its mobile number
GUEST_KEY = "wechat_guest_openid"  # session: a guest's openid from the silent authorisation


def _safe_next(request, default: str = "/") -> str:
    nxt = request.GET.get("next") or request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


@require_http_methods(["GET"])
def authorize(request):
    """Starts WeChat's web authorisation: `scope=snsapi_base` signs a bound doctor in without a prompt,
    `snsapi_userinfo` (asked only when a guest acts) shows WeChat's consent; `process=connect` re-binds the signed-in
    doctor's WeChat."""
    if not wechat_enabled():
        return HttpResponseBadRequest(_("WeChat is not configured."))
    scope = request.GET.get("scope", SCOPE_USERINFO)
    process = request.GET.get("process", "login")
    if scope not in (SCOPE_BASE, SCOPE_USERINFO) or process not in ("login", "connect"):
        return HttpResponseBadRequest(_("Unknown WeChat authorisation."))
    if process == "connect" and not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={reverse('member_home')}")
    provider = get_social_adapter().get_provider(request, "weixin")
    return provider.redirect(request, process, next_url=_safe_next(request), scope=[scope])


def pending_identity_response(request, sociallogin):
    """A WeChat identity no account has yet. Silent (snsapi_base) or a snapshot-page identity: the person goes on
    as a guest. Authorised with snsapi_userinfo: on to binding a mobile number."""
    extra = sociallogin.account.extra_data
    next_url = sociallogin.state.get("next") or "/"
    if extra.get("scope") != SCOPE_USERINFO or extra.get("is_snapshotuser"):
        request.session[GUEST_KEY] = extra.get("openid", "")
        return HttpResponseRedirect(next_url)
    request.session[PENDING_KEY] = {"uid": sociallogin.account.uid, "extra_data": extra, "next": next_url}
    return redirect("wechat_bind")


@require_http_methods(["GET", "POST"])
def bind(request):
    """After a first authorisation: the mobile number, its SMS code and the privacy consent; then the doctor is signed
    in to the account with that number (created if there is none)."""
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return redirect(f"{reverse('wechat_authorize')}?scope={SCOPE_USERINFO}")
    openid = pending["extra_data"].get("openid", "")
    form = BindMobileForm(request.POST or None, initial={"phone": request.session.get("wechat_bind_phone", "")})
    code_sent = bool(request.session.get("wechat_bind_phone"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "send_code":
                phone = wechat_bind_code_send(openid=openid, phone=data["phone"],
                                              language=translation.get_language() or "zh-hans")
                request.session["wechat_bind_phone"] = phone
                messages.success(request, _("A code was sent to your mobile number."))
                return redirect("wechat_bind")
            user, _created = wechat_bind_complete(
                uid=pending["uid"], extra_data=pending["extra_data"], code=data["code"],
                accept_privacy=data["accept_privacy"], ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:500])
        except DomainError as exc:
            form.add_error(exc.details.get("field") if exc.details.get("field") in form.fields else None,
                           str(exc.message))
            return render(request, "members/wechat/bind.html", {"form": form, "code_sent": code_sent},
                          status=exc.status if exc.status == 429 else 400)
        for key in (PENDING_KEY, GUEST_KEY, "wechat_bind_phone"):
            request.session.pop(key, None)
        return perform_login(request, user, redirect_url=pending.get("next") or reverse("member_home"))
    status = 400 if request.method == "POST" else 200
    return render(request, "members/wechat/bind.html", {"form": form, "code_sent": code_sent}, status=status)


@login_required
@require_POST
def unbind(request):
    try:
        wechat_unbind(user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("WeChat is no longer bound to your account."))
    return redirect("member_home")
