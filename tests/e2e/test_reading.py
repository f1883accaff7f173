"""A verified doctor searches "糖尿病", opens an article, reads it to completion (the page reports active time in
the background) and sees the reading points on the member page; an unverified doctor sees the gate."""

import pytest

from cms.pages.models import Audience
from tests.cms.factories import area_page, make_article, make_reader
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def _short_reads(monkeypatch):
    """The live server completes a read after 2 active seconds and reports every second."""
    monkeypatch.setenv("READING_MIN_SECONDS", "2")
    monkeypatch.setenv("READING_BEACON_SECONDS", "1")


def test_verified_doctor_reads_to_completion_and_earns_points(_short_reads, live_asgi_server, browser_page):
    page = browser_page
    body = [("rich_text", "<p>二甲双胍是2型糖尿病的一线用药。</p>" + "<p>血糖管理需要长期随访。</p>" * 40)]
    article = make_article(area_page("diabetes"), title="糖尿病患者的血糖管理", body=body, slug="glucose")
    doctor = make_reader("verified")
    sign_in(page, live_asgi_server, doctor)
    page.goto(live_asgi_server + "/content/search/")
    page.fill("[data-testid=content-filters] input[name=q]", "糖尿病")
    page.press("[data-testid=content-filters] input[name=q]", "Enter")
    page.wait_for_url("**q=*")
    page.locator(f"[data-testid=content-card][data-page-id='{article.pk}']").click()
    page.wait_for_selector("[data-testid=reading-status]")
    page.bring_to_front()
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    for _ in range(6):
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(300)
    page.wait_for_selector("[data-reading-complete='1']", timeout=20000)
    # The page says the read is complete and what it paid, without a reload (it said "已读 62%" before).
    status = page.locator("[data-testid=reading-status]").inner_text()
    assert "已读" in status and "%" not in status and "5" in status, status
    page.reload()
    assert "5" in page.locator("[data-testid=reading-status]").inner_text()
    page.goto(live_asgi_server + "/members/me/")
    assert page.locator("[data-testid=points-section-balance]").inner_text().strip() == "5"
    page.screenshot(path=str(ARTIFACTS / "reading-complete.png"))


def test_unverified_doctor_sees_the_gate(live_asgi_server, browser_page):
    page = browser_page
    article = make_article(area_page("diabetes"), audience=Audience.VERIFIED, slug="gated")
    sign_in(page, live_asgi_server, make_reader("pending"))
    response = page.goto(live_asgi_server + article.url)
    assert response.status == 403
    assert page.locator("[data-testid=content-gate]").get_attribute("data-reason") == "await_verification"
    assert page.locator("[data-testid=reading-status]").count() == 0
