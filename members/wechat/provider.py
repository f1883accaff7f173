"""allauth's `weixin` provider made fit for the Official Account's web authorisation (网页授权).

allauth's provider is written for the open platform's QR log-in; inside WeChat it falls short in four ways, each
fixed here (settings: SOCIALACCOUNT_PROVIDERS["weixin"]["provider_class"] names this class):
- the authorize URL needs `#wechat_redirect`, or WeChat shows an error page instead of asking;
- `snsapi_base` (the silent log-in) has no profile: `sns/userinfo` answers 48001, so it is not called;
- the account's uid is the unionid when WeChat gives one (the same person across our OA and open-platform apps),
  else the openid; an account already bound to the openid keeps its uid, so a later unionid never splits a person;
- the nickname is decoded as UTF-8 bytes (allauth's `raw_unicode_escape` round trip turns 某某 into "\\u67d0" and
  raises on "·", the middle dot in many names: the first-log-in 500).
"""

from allauth.socialaccount.providers.weixin.provider import WeixinProvider

from members.wechat.oauth import OfficialAccountOAuth2Adapter


class OfficialAccountProvider(WeixinProvider):
    oauth2_adapter_class = OfficialAccountOAuth2Adapter
    package = "members.wechat"  # allauth imports oauth2_login/oauth2_callback from members.wechat.views

    def get_default_scope(self):
        return ["snsapi_userinfo"]

    def extract_uid(self, data):
        return data.get("unionid") or data["openid"]

    def extract_common_fields(self, data):
        # The nickname is a display name, never a username (ours are generated).
        return {"display_name": (data.get("nickname") or "")[:100]}


provider_classes = [OfficialAccountProvider]
