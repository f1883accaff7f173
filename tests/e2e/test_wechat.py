"""Inside WeChat (MicroMessenger user agent), against the fake WeChat: a guest reads a public article, taps
register, authorises, binds a mobile number by SMS code, lands registered on the article; the page's JS-SDK config
call succeeds and its share link carries the doctor's share code."""

from urllib.parse import parse_qs, urlparse

import pytest

from cms.pages.models import Audience
from cms.reading.models import ShareCode
from engage.messaging.models import OutboundMessage
from members.accounts.models import User
from tests.cms.factories import area_page, make_article
from tests.e2e.conftest import ARTIFACTS
from tests.fakes.fixtures import WECHAT_APP_ID, WECHAT_TOKEN
from tests.fakes.wechat import FakeWeChat

pytestmark = pytest.mark.e2e


@pytest.fixture
def fake_wechat_for_server(monkeypatch):
    """The fake WeChat, and the live server (a subprocess) configured for it through its environment."""
    fake = FakeWeChat(WECHAT_APP_ID, "wechat-app-secret").start()
    for name, value in {"WECHAT_APP_ID": fake.appid, "WECHAT_APP_SECRET": fake.secret,
                        "WECHAT_TOKEN": WECHAT_TOKEN, "ENGAGE_WECHAT_API_BASE_URL": f"{fake.url}/cgi-bin/",
                        "ENGAGE_WECHAT_AUTHORIZE_URL": f"{fake.url}/connect/oauth2/authorize"}.items():
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


def test_guest_reads_registers_in_wechat_and_shares_with_attribution(
        fake_wechat_for_server, live_asgi_server, browser_page):
    page = browser_page
    fake = fake_wechat_for_server
    article = make_article(area_page("diabetes"), title="心衰患者的随访", audience=Audience.PUBLIC, slug="hf-wechat")
    fake.browser_person = ("oE2E-DOCTOR", "陈医生")  # WeChat's authorize page allows at once, as this person

    # A guest: the silent authorisation finds no account, the article opens.
    users = User.objects.count()
    page.goto(live_asgi_server + article.url)
    page.wait_for_selector("[data-testid=content-page]")
    assert User.objects.count() == users
    share = page.locator("[data-testid=wechat-share]")
    page.wait_for_selector("[data-testid=wechat-share][data-wechat-config=ok]", state="attached")
    assert "ref=" not in share.get_attribute("data-link")

    # Register: WeChat's profile consent, then the mobile number confirmed by code, and the privacy consent.
    page.click("[data-testid=nav-signup]")
    page.wait_for_selector("[data-testid=wechat-bind]")
    page.fill("input[name=phone]", "13800138555")
    page.click("[data-testid=wechat-send-code]")
    page.wait_for_selector("[data-testid=wechat-bind]")
    message = OutboundMessage.objects.to("+8613800138555").get(template_key="verification_code")
    page.fill("input[name=code]", message.send_params()["code"])
    page.check("input[name=accept_privacy]")
    page.click("[data-testid=wechat-bind-submit]")
    page.wait_for_selector("[data-testid=content-page]")
    assert urlparse(page.url).path == article.url

    user = User.objects.get(mobile="+8613800138555")
    assert user.display_name == "陈医生" and user.mobile_verified
    page.wait_for_selector("[data-testid=wechat-share][data-wechat-config=ok]", state="attached")
    code = ShareCode.objects.get(user=user).code
    assert parse_qs(urlparse(share.get_attribute("data-link")).query)["ref"] == [code]
    assert fake.tickets_issued == 1  # the ticket is shared by both page views
    page.screenshot(path=str(ARTIFACTS / "wechat-registered.png"))
