"""Inside WeChat the staff check-in scanner offers 扫一扫: the page configures the JS-SDK with scanQRCode, and the
code WeChat's scanner reads (a stand-in for the SDK inside WeChat's webview) is checked in through the same flow
as the camera's — the green result with the doctor's name, one check-in recorded as a camera scan."""

import pytest

from events.checkin.models import CheckIn
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.e2e.test_wechat import fake_wechat_for_server  # noqa: F401  (the fixture)
from tests.events.factories import make_staff, open_event, ticket_for

pytestmark = pytest.mark.e2e

# WeChat's webview gives the page `wx`; headless Chromium has no WeChat behind it, so this stand-in records what
# the page configures and answers scanQRCode with the code the test holds up to the "camera".
WX_STAND_IN = """
(() => {
  const wx = {
    config(options) { window.__wxConfig = options; },
    ready(callback) { callback(); },
    error() {},
    updateAppMessageShareData() {},
    updateTimelineShareData() {},
    scanQRCode(options) { options.success({ resultStr: window.__scanned, errMsg: "scanQRCode:ok" }); },
  };
  Object.defineProperty(window, "wx", { get: () => wx, set: () => {}, configurable: true });
})();
"""


def test_wechat_scan_checks_a_doctor_in(fake_wechat_for_server, live_asgi_server, browser_page):  # noqa: F811
    page = browser_page
    event = open_event()
    ticket = ticket_for(event, real_name="周丽娟")
    sign_in(page, live_asgi_server, make_staff("marketing"))
    page.add_init_script(WX_STAND_IN)

    page.goto(f"{live_asgi_server}/events/{event.pk}/checkin/scanner/")
    page.wait_for_selector("[data-testid=wechat-jssdk][data-wechat-config=ok]", state="attached")
    config = page.evaluate("window.__wxConfig")
    assert "scanQRCode" in config["jsApiList"] and config["appId"] == fake_wechat_for_server.appid
    assert len(config["signature"]) == 40

    page.evaluate("secret => { window.__scanned = secret; }", f"{live_asgi_server}/events/tickets/{ticket.secret}/")
    page.click("[data-testid=wechat-scan]")
    page.locator("[data-testid=scanner-result][data-status=ok]").wait_for()
    assert page.locator("[data-testid=scanner-result-name]").inner_text() == "周丽娟"
    page.screenshot(path=str(ARTIFACTS / "checkin-wechat-scan.png"))
    check_in = CheckIn.objects.get(ticket=ticket, annulled_at__isnull=True)
    assert check_in.method == "camera"
