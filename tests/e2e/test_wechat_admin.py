"""The Official Account's admin screens in a real browser, against the fake WeChat: the menu editor refuses a
top-level name WeChat would refuse (in Chinese), a menu of two top-level buttons (one a sub-menu of two items) is
published to WeChat and compared with the live one, and a keyword auto-reply is created."""

import pytest

from members.wechat.models import KeywordReply, MenuButton
from members.wechat.services import keyword_reply_text
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.e2e.test_wechat import fake_wechat_for_server  # noqa: F401  (the fixture)
from tests.factories import user_with_role

pytestmark = pytest.mark.e2e


def _new_button(page, base, *, name: str, kind: str, parent: str = "", position: int = 1, link_path: str = "",
                keyword: str = "") -> None:
    page.goto(base + "/admin/wechat_menu/new/")
    page.fill("#id_name", name)
    page.select_option("#id_kind", kind)
    page.fill("#id_position", str(position))
    if parent:
        page.select_option("#id_parent", label=parent)
    if link_path:
        page.fill("#id_link_path", link_path)
    if keyword:
        page.fill("#id_keyword", keyword)
    page.locator("main form button[type=submit]").first.click()


def test_menu_editor_validates_publishes_and_keyword_reply(fake_wechat_for_server, live_asgi_server,  # noqa: F811
                                                           browser_page):
    page, base, fake = browser_page, live_asgi_server, fake_wechat_for_server
    sign_in(page, base, user_with_role("marketing"))

    # Too long for a top-level button (WeChat: 16 bytes, 4 Chinese characters): refused in Chinese, nothing saved.
    _new_button(page, base, name="学术会议与直播日程", kind="view", link_path="/events/")
    error = page.locator("text=名称须为 1 至 16 字节")
    error.first.wait_for()
    assert "4 个汉字" in error.first.inner_text()
    assert not MenuButton.objects.exists()

    _new_button(page, base, name="会议", kind="view", link_path="/events/", position=1)
    page.wait_for_url(f"{base}/admin/wechat_menu/")
    _new_button(page, base, name="我的", kind="parent", position=2)
    page.wait_for_url(f"{base}/admin/wechat_menu/")
    _new_button(page, base, name="我的积分", kind="view", parent="我的", link_path="/members/me/points/")
    page.wait_for_url(f"{base}/admin/wechat_menu/")
    _new_button(page, base, name="会议提醒", kind="click", parent="我的", position=2, keyword="会议")
    page.wait_for_url(f"{base}/admin/wechat_menu/")
    assert MenuButton.objects.count() == 4

    page.goto(base + "/admin/wechat/menu/publish/")
    assert page.locator("[data-testid=menu-same]").get_attribute("data-same") == "0"
    page.locator("[data-testid=wechat-menu-publish] form button[type=submit]").click()
    page.wait_for_selector("[data-testid=menu-same][data-same='1']")
    assert [b["name"] for b in fake.menu["button"]] == ["会议", "我的"]
    mine = fake.menu["button"][1]["sub_button"]
    assert [(b["name"], b["type"]) for b in mine] == [("我的积分", "view"), ("会议提醒", "click")]
    assert mine[0]["url"].endswith("/members/me/points/") and mine[1]["key"] == "会议"
    page.screenshot(path=str(ARTIFACTS / "wechat-menu-published.png"))

    page.goto(base + "/admin/wechat_keywords/new/")
    page.fill("#id_keyword", "直播")
    page.fill("#id_reply", "本周直播日程")
    page.fill("#id_link_path", "/events/")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(f"{base}/admin/wechat_keywords/")
    assert page.locator("text=本周直播日程").count() >= 1
    reply = KeywordReply.objects.get(keyword="直播")
    assert reply.is_active and keyword_reply_text(text="直播").startswith("本周直播日程\n")
