"""WeChat's scanner (扫一扫) on the staff check-in scanner page: offered only to a page opened inside WeChat with an
Official Account configured, its JS-SDK configuration asks for scanQRCode, and the page's js-config is signed."""

import pytest
from django.test import Client

from tests.events.factories import make_staff, open_event
from tests.members.wechat.conftest import WECHAT_UA

pytestmark = pytest.mark.django_db


def _scanner(user_agent: str = ""):
    event = open_event()
    client = Client(HTTP_USER_AGENT=user_agent) if user_agent else Client()
    client.force_login(make_staff())
    response = client.get(f"/events/{event.pk}/checkin/scanner/")
    assert response.status_code == 200
    return client, response


def _attribute(html: str, testid: str, name: str) -> str:
    tag = html.split(f'data-testid="{testid}"', 1)[0].rsplit("<", 1)[1] + html.split(
        f'data-testid="{testid}"', 1)[1].split(">", 1)[0]
    return tag.split(f'{name}="', 1)[1].split('"', 1)[0]


def test_the_scanner_page_offers_wechat_scan_inside_wechat(fake_wechat):
    client, response = _scanner(WECHAT_UA)
    html = response.content.decode()
    assert _attribute(html, "wechat-scan", "data-wechat-scan-target") == "#checkin-wedge"
    assert 'id="checkin-wedge"' in html  # the field the camera flow and the scan share
    assert "scanQRCode" in _attribute(html, "wechat-jssdk", "data-wechat-apis").split()
    assert "js/wechat_share.js" in html and "jweixin-1.6.5.js" in html
    url = f"https://engage.test{response.wsgi_request.path}"
    config = client.get("/api/v1/wechat/js-config", {"url": url})
    assert config.status_code == 200 and len(config.json()["signature"]) == 40


def test_no_wechat_scan_outside_wechat(fake_wechat):
    _client, response = _scanner()
    assert b'data-testid="wechat-scan"' not in response.content and b"wechat_share.js" not in response.content


def test_no_wechat_scan_without_an_official_account(settings):
    settings.WECHAT_APP_ID = ""
    _client, response = _scanner(WECHAT_UA)
    assert b'data-testid="wechat-scan"' not in response.content
