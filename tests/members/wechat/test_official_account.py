"""The Official Account: follow status from signed subscribe/unsubscribe callbacks, keyword replies (typed or from a
menu button) as passive replies, the menu validated against WeChat's limits, published and compared with the live
one; the doctor 360° view shows the binding, follow status and the messages sent and held."""

import time
from urllib.parse import urlencode

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError, PermissionDenied
from members.wechat.models import KeywordReply, MenuButton, WeChatFollower
from members.wechat.services import menu_data, menu_live, menu_publish
from tests.fakes.fixtures import decrypt_reply

pytestmark = pytest.mark.django_db


def event(openid: str, name: str, created: int | None = None, **fields) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (f"<xml><ToUserName><![CDATA[gh_engage]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{name}]]></Event>{extra}</xml>")


def text(openid: str, content: str, msg_id: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_engage]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def test_subscribe_and_unsubscribe_set_the_follow_status(fake_wechat, wechat_post):
    client = Client()
    assert wechat_post(client, event("oDOC", "subscribe")).status_code == 200
    assert WeChatFollower.objects.get(openid="oDOC").following
    assert wechat_post(client, event("oDOC", "unsubscribe", int(time.time()) + 1)).status_code == 200
    assert not WeChatFollower.objects.get(openid="oDOC").following


def test_an_older_event_arriving_late_does_not_win(fake_wechat, wechat_post):
    client = Client()
    now = int(time.time())
    wechat_post(client, event("oLATE", "unsubscribe", now))
    wechat_post(client, event("oLATE", "subscribe", now - 60))
    assert not WeChatFollower.objects.get(openid="oLATE").following


def test_forged_duplicate_and_malformed_callbacks_change_nothing(fake_wechat, wechat_post):
    client = Client()
    assert wechat_post(client, event("oF", "subscribe"), forge=True).status_code == 403
    assert wechat_post(client, "<xml><Oops>", ).status_code == 400
    assert wechat_post(client, event("", "subscribe")).status_code == 400
    assert not WeChatFollower.objects.exists()
    wechat_post(client, event("oDUP", "subscribe"))
    replay = client.post(f"/webhooks/wechat/?{urlencode(wechat_post.last_query)}",
                         data=wechat_post.last_body, content_type="text/xml")
    assert replay.status_code == 403
    assert WeChatFollower.objects.count() == 1


def test_keyword_replies_answer_typed_words_and_menu_clicks(fake_wechat, wechat_post):
    client = Client()
    reply = wechat_post(client, text("oKW", "积分", 9001))
    body = reply.content.decode()
    assert reply.status_code == 200 and "我的学术积分" in body and "https://engage.test/members/me/points/" in body
    click = wechat_post(client, event("oKW", "CLICK", EventKey="会议"))
    assert "https://engage.test/events/me/" in click.content.decode()
    other = wechat_post(client, text("oKW", "积分？", 9002)).content.decode()  # not exactly a keyword
    assert "我的学术积分" not in other and "/members/me/points/" not in other


def test_keyword_reply_in_safe_mode(fake_wechat, wechat_post, settings):
    KeywordReply.objects.create(keyword="直播", reply="直播日程", link_path="/events/")
    reply = wechat_post(Client(), text("oAES", "直播", 9003), encrypted=True)
    assert reply.status_code == 200 and "直播日程" in decrypt_reply(settings, reply)


def _menu():
    top = MenuButton.objects.create(position=1, name="学术", kind="parent")
    MenuButton.objects.create(parent=top, position=1, name="我的会议", kind="view", link_path="/events/me/")
    MenuButton.objects.create(parent=top, position=2, name="我的积分", kind="click", keyword="积分")
    MenuButton.objects.create(position=2, name="个人中心", kind="view", link_path="/members/me/")
    return top


def test_menu_is_published_audited_and_compared_with_the_live_one(fake_wechat, role_user):
    _menu()
    assert menu_live() is None
    data = menu_publish(actor=role_user("marketing"))
    assert data["button"][0]["sub_button"][1] == {"name": "我的积分", "type": "click", "key": "积分"}
    assert data["button"][1]["url"] == "https://engage.test/members/me/"
    assert fake_wechat.menu == data and menu_live() == data
    assert AuditEntry.objects.filter(action="members.wechat_menu_publish").count() == 1
    MenuButton.objects.filter(name="个人中心").update(name="我的")
    assert menu_live() != menu_data()


def test_menu_over_wechats_limits_is_refused_before_wechat_sees_it(fake_wechat, role_user):
    top = _menu()
    for i in range(4):
        MenuButton.objects.create(parent=top, position=3 + (i % 3), name=f"项目{i}", kind="view", link_path="/")
    MenuButton.objects.create(position=3, name="这个名字太长了超过四个字", kind="view", link_path="/")
    MenuButton.objects.create(position=4, name="第四", kind="click", keyword="x")
    with pytest.raises(DomainError) as exc:
        menu_publish(actor=role_user("marketing"))
    assert exc.value.code == "invalid_menu" and len(exc.value.details["problems"]) == 3
    assert fake_wechat.menu is None


def test_only_menu_managers_publish(fake_wechat, role_user):
    _menu()
    with pytest.raises(PermissionDenied):
        menu_publish(actor=role_user("medical_reviewer"))


def test_menu_admin_page_shows_ours_and_the_live_menu(fake_wechat, client, role_user):
    _menu()
    client.force_login(role_user("marketing"))
    page = client.get("/admin/wechat/menu/publish/")
    assert page.status_code == 200 and 'data-same="0"' in page.content.decode()
    assert client.post("/admin/wechat/menu/publish/").status_code == 302
    assert 'data-same="1"' in client.get("/admin/wechat/menu/publish/").content.decode()


def test_admin_says_wechat_is_off_without_settings(settings, client, role_user):
    settings.WECHAT_APP_ID = ""
    client.force_login(role_user("marketing"))
    assert 'data-testid="wechat-off"' in client.get("/admin/").content.decode()
    assert 'data-testid="wechat-off"' in client.get("/admin/wechat/menu/publish/").content.decode()


def test_doctor_360_shows_binding_follow_status_and_held_messages(fake_wechat, wechat_post, client, role_user):
    from engage.messaging.services import message_deliver_now, message_enqueue
    from tests.factories import make_doctor

    doctor = make_doctor(verified=True)
    SocialAccount.objects.create(user=doctor, provider="weixin", uid="o360DOCTOR",
                                 extra_data={"openid": "o360DOCTOR", "nickname": "张医生"})
    wechat_post(Client(), event("o360DOCTOR", "subscribe"))
    for n in range(2):
        message = message_enqueue(channel="sms", to=doctor.mobile, template_key="verification_code",
                                  params={"code": "123456", "minutes": 5}, user=doctor, category="promotional",
                                  idempotency_key=f"p360:{n}")
        message_deliver_now(message_id=message.pk)
    client.force_login(role_user("marketing"))
    page = client.get(f"/admin/doctor-360/{doctor.pk}/").content.decode()
    assert "张医生" in page and "o360****CTOR" in page
    assert "Follows the Official Account" in page or "关注" in page
    assert page.count('data-testid="message-held"') == 1
