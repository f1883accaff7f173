"""WeChat log-in pages: allauth's OAuth2 views for the Official Account provider (allauth imports oauth2_login and
oauth2_callback from here), the authorisation start a page links to, the mobile-number binding that follows a first
authorisation, and unbinding from the account page."""

import secrets

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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engage.core.clients import client_ip
from engage.core.errors import DomainError
from engage.messaging.services import subscribe_grant_record
from engage.messaging.wechat import wechat_client
from members.wechat.forms import BindMobileForm
from members.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO, OfficialAccountOAuth2Adapter
from members.wechat.selectors import SUBSCRIBE_SCENE_MAX, once_template_id, wechat_enabled
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


SUBSCRIBE_KEY = "wechat_subscribe_pending"  # session: reserved token -> the scene asked for and where to go back
SUBSCRIBE_PENDING_MAX = 5


@login_required
@require_GET
def subscribe(request):
    """Sends the doctor to WeChat's one-time subscription page (一次性订阅消息) for the notice `?scene=`; WeChat comes
    back to `subscribe_done` with the answer. `reserved` is a random token kept in this session (WeChat's CSRF
    guard for this page: letters and digits, at most 128)."""
    template_id = once_template_id()
    if not template_id:
        return HttpResponseBadRequest(_("WeChat notices are not configured."))
    try:
        scene = int(request.GET.get("scene", ""))
    except ValueError:
        scene = -1
    if not 0 <= scene <= SUBSCRIBE_SCENE_MAX:
        return HttpResponseBadRequest(_("Unknown WeChat notice."))
    reserved = secrets.token_hex(16)
    pending = dict(request.session.get(SUBSCRIBE_KEY) or {})
    pending[reserved] = {"scene": scene, "next": _safe_next(request, reverse("member_home"))}
    request.session[SUBSCRIBE_KEY] = dict(list(pending.items())[-SUBSCRIBE_PENDING_MAX:])
    redirect_url = request.build_absolute_uri(reverse("wechat_subscribe_done"))
    return HttpResponseRedirect(wechat_client().message.get_subscribe_authorize_url(
        scene, template_id, redirect_url, reserved=reserved))


@login_required
@require_GET
def subscribe_done(request):
    """WeChat's answer (openid, template_id, action confirm/cancel, scene, reserved): recorded as one authorisation
    when it matches the request this session made; a forged, replayed or mismatched answer is a 400, nothing
    written."""
    pending = dict(request.session.get(SUBSCRIBE_KEY) or {})
    asked = pending.pop((request.GET.get("reserved") or "")[:128], None)
    if asked is None or request.GET.get("template_id") != once_template_id() \
            or request.GET.get("scene") != str(asked["scene"]):
        return HttpResponseBadRequest(_("This WeChat answer does not match a request of yours. Try again."))
    request.session[SUBSCRIBE_KEY] = pending
    try:
        grant = subscribe_grant_record(user=request.user, openid=request.GET.get("openid", ""),
                                       template_id=request.GET.get("template_id", ""), scene=asked["scene"],
                                       action=request.GET.get("action", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if grant is not None:
            messages.success(request, _("You will get this notice in WeChat."))
        else:
            messages.info(request, _("No WeChat notice: we will tell you by SMS or in your inbox."))
    return HttpResponseRedirect(asked["next"])
