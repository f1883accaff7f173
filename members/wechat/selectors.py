"""Reads about a doctor's WeChat: whether WeChat is configured at all, and a doctor's binding and follow status."""

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from engage.core.errors import DomainError
from engage.messaging import conf
from engage.messaging.wechat import jsapi_signature, jsapi_ticket
from members.wechat.models import WeChatFollower


def guest_openid(request) -> str:
    """The openid WeChat's silent authorisation gave a visitor without an account (a patient, a guest), or ""."""
    return (request.session.get("wechat_guest_openid") or "")[:64] if wechat_enabled() else ""


def wechat_enabled() -> bool:
    """WeChat features are on only with an Official Account configured (WECHAT_APP_ID and WECHAT_APP_SECRET)."""
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET)


@dataclass(frozen=True)
class WeChatBinding:
    bound: bool
    openid: str = ""
    nickname: str = ""
    bound_at: object = None
    following: bool | None = None  # None: the Official Account never reported on this openid
    follow_changed_at: object = None

    @property
    def openid_masked(self) -> str:
        return f"{self.openid[:4]}****{self.openid[-4:]}" if self.openid else ""


def wechat_binding(*, user) -> WeChatBinding:
    account = SocialAccount.objects.filter(user=user, provider="weixin").order_by("-pk").first()
    if account is None:
        return WeChatBinding(bound=False)
    openid = _openid_of_account(account)
    follower = WeChatFollower.objects.filter(openid=openid).first() if openid else None
    return WeChatBinding(bound=True, openid=openid, nickname=account.extra_data.get("nickname") or "",
                         bound_at=account.date_joined, following=follower.following if follower else None,
                         follow_changed_at=follower.changed_at if follower else None)


def openid_of(user) -> str:
    """The openid messages to this doctor go to, or ""."""
    account = SocialAccount.objects.filter(user=user, provider="weixin").order_by("-pk").first()
    return _openid_of_account(account) if account else ""


def _openid_of_account(account) -> str:
    """The openid is in the profile WeChat gave; without one the uid is the openid (it is the unionid only when
    WeChat gave a unionid, which comes with the openid)."""
    return account.extra_data.get("openid") or ("" if account.extra_data.get("unionid") else account.uid)


@dataclass(frozen=True)
class JsConfig:
    appId: str
    timestamp: int
    nonceStr: str
    signature: str


def js_config(*, url: str, allowed_hosts: set[str]) -> JsConfig:
    """wx.config's values for the page at `url` (its #fragment dropped, as WeChat signs it). Only our own pages:
    the endpoint is no signing service for other sites."""
    if not wechat_enabled():
        raise DomainError("wechat_not_configured", _("WeChat is not configured."), status=404)
    page = (url or "").split("#", 1)[0]
    parsed = urlparse(page)
    if len(page) > 2048 or parsed.scheme not in ("http", "https") or (parsed.hostname or "") not in allowed_hosts:
        raise DomainError("invalid_url", _("That is not a page of this site."), field="url")
    nonce = secrets.token_urlsafe(12)
    timestamp = int(time.time())
    return JsConfig(appId=settings.WECHAT_APP_ID, timestamp=timestamp, nonceStr=nonce,
                    signature=jsapi_signature(ticket=jsapi_ticket(), noncestr=nonce, timestamp=timestamp, url=page))


SUBSCRIBE_SCENE_MAX = 10000  # WeChat's one-time subscription scenes are 0..10000


def once_template_id() -> str:
    """The one-time subscription message template (一次性订阅消息) of the Official Account, or "" (off)."""
    return conf.get("ENGAGE_WECHAT_ONCE_TEMPLATE_ID") if wechat_enabled() else ""


def subscribe_offer_url(*, request, scene: int) -> str:
    """The link that asks the signed-in doctor to receive one notice in WeChat (`scene` names which, e.g. one
    meeting's), back to the current page afterwards; "" outside WeChat, signed out, or with the feature off."""
    from django.urls import reverse
    from django.utils.http import urlencode

    if not wechat_jssdk_available(request) or not request.user.is_authenticated or not once_template_id():
        return ""
    scene = int(scene) % (SUBSCRIBE_SCENE_MAX + 1)
    return f"{reverse('wechat_subscribe')}?{urlencode({'scene': scene, 'next': request.get_full_path()})}"


def wechat_jssdk_available(request) -> bool:
    """Whether the page answering `request` can use WeChat's JS-SDK: opened inside WeChat (a MicroMessenger user
    agent) with an Official Account configured."""
    from members.wechat.middleware import in_wechat  # the middleware imports this module: no import cycle

    return request is not None and wechat_enabled() and in_wechat(request)
