"""The OAuth2 client and adapter behind `OfficialAccountProvider` (see provider.py for what differs from allauth)."""

import json

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.weixin.client import WeixinOAuth2Client
from allauth.socialaccount.providers.weixin.views import WeixinOAuth2Adapter
from django.conf import settings

SCOPE_BASE = "snsapi_base"
SCOPE_USERINFO = "snsapi_userinfo"


class OfficialAccountOAuth2Client(WeixinOAuth2Client):
    def get_redirect_url(self, authorization_url, scope, extra_params):
        # WeChat refuses the authorize page without the fragment (and wechatpy adds it too).
        return super().get_redirect_url(authorization_url, scope, extra_params) + "#wechat_redirect"


def _decode(response) -> dict:
    """WeChat's JSON is UTF-8 whatever its Content-Type says."""
    try:
        data = json.loads(response.content.decode("utf-8"))
    except ValueError as exc:
        raise OAuth2Error("WeChat answered with something other than JSON") from exc
    if not isinstance(data, dict):
        raise OAuth2Error("WeChat answered with something other than an object")
    return data


class OfficialAccountOAuth2Adapter(WeixinOAuth2Adapter):
    client_class = OfficialAccountOAuth2Client

    @property
    def access_token_url(self):
        return f"{_sns_base()}oauth2/access_token"

    @property
    def profile_url(self):
        return f"{_sns_base()}userinfo"

    def complete_login(self, request, app, token, **kwargs):
        response = kwargs.get("response") or {}
        openid = response.get("openid")
        if not openid or not isinstance(openid, str) or len(openid) > 64:
            raise OAuth2Error("WeChat gave no openid")
        bound = SocialAccount.objects.filter(provider=self.provider_id, extra_data__openid=openid).first()
        scopes = str(response.get("scope") or "").split(",")
        if SCOPE_USERINFO in scopes:
            with get_adapter().get_requests_session() as session:
                resp = session.get(self.profile_url, params={"access_token": token.token, "openid": openid,
                                                             "lang": "zh_CN"})
                resp.raise_for_status()
            extra_data = _decode(resp)
            if extra_data.get("errcode") or extra_data.get("openid") != openid:
                raise OAuth2Error(f"WeChat refused the profile: {extra_data.get('errcode')}")
            extra_data["scope"] = SCOPE_USERINFO
        else:
            # Silent log-in: WeChat tells only who this is (sns/userinfo would answer 48001).
            extra_data = {**(bound.extra_data if bound else {}), "openid": openid, "scope": SCOPE_BASE}
        if response.get("unionid") and not extra_data.get("unionid"):
            extra_data["unionid"] = response["unionid"]
        if response.get("is_snapshotuser"):
            extra_data["is_snapshotuser"] = 1
        sociallogin = self.get_provider().sociallogin_from_response(request, extra_data)
        if bound is not None:
            sociallogin.account.uid = bound.uid  # the person keeps the account they are bound under
        return sociallogin


def _sns_base() -> str:
    """https://api.weixin.qq.com/sns/ — or the fake WeChat's in tests (ENGAGE_WECHAT_API_BASE_URL's sibling)."""
    base = getattr(settings, "ENGAGE_WECHAT_API_BASE_URL", "") or "https://api.weixin.qq.com/cgi-bin/"
    return base.rstrip("/").removesuffix("/cgi-bin") + "/sns/"
