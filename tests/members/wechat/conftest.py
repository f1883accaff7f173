"""WeChat log-in through the real allauth views and our Official Account provider, against the fake WeChat."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.47"


@pytest.fixture
def wechat_client():
    return Client(HTTP_USER_AGENT=WECHAT_UA, REMOTE_ADDR="203.0.113.10")


@pytest.fixture
def wechat_authorise(fake_wechat):
    """wechat_authorise(client, start_response, openid, **identity): the person's part at open.weixin.qq.com —
    WeChat redirects back to our callback with a code for `openid`; returns the callback's response."""

    def run(client, start, openid: str, **identity):
        assert start.status_code == 302, start
        if start.url.startswith(reverse("wechat_authorize")):
            start = client.get(start.url)
        url = urlparse(start.url)
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://open.weixin.qq.com/connect/oauth2/authorize"
        assert url.fragment == "wechat_redirect"
        query = parse_qs(url.query)
        assert query["appid"] == [fake_wechat.appid]
        code = fake_wechat.oauth_code(openid, scope=query["scope"][0], **identity)
        callback = urlparse(query["redirect_uri"][0]).path
        assert callback == reverse("weixin_callback")
        return client.get(callback, {"code": code, "state": query["state"][0]})

    return run


@pytest.fixture
def sms_code():
    def last(phone: str) -> str:
        from engage.messaging.models import OutboundMessage

        message = OutboundMessage.objects.to(phone).filter(template_key="verification_code").latest("id")
        return message.send_params()["code"]

    return last
