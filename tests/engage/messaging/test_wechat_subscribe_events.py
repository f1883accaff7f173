"""Subscription-notice events on the Official Account callback (订阅通知弹窗事件), which wechatpy 1.8 does not parse:
pop-up and settings answers are recorded per openid and template (the latest event wins, every event kept), the
delivery report of a subscription notice moves its message; forged, malformed and repeated callbacks change
nothing."""

import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from engage.audit.models import AuditEntry
from engage.messaging.models import OutboundMessage, WeChatSubscribeChoice
from engage.messaging.selectors import subscribe_choice
from engage.messaging.services import message_enqueue

pytestmark = pytest.mark.django_db


def subscribe_event(openid: str, event: str, items: list[dict], created: int | None = None) -> str:
    container = {"subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
                 "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
                 "subscribe_msg_sent_event": "SubscribeMsgSentEvent"}[event]
    lists = "".join("<List>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in item.items()) + "</List>"
                    for item in items)
    return (f"<xml><ToUserName><![CDATA[gh_engage]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><{container}>{lists}</{container}></xml>")


def test_popup_answers_are_recorded_and_a_later_change_wins(fake_wechat, wechat_post):
    client = Client()
    now = int(time.time()) - 100
    popup = subscribe_event("oDOC", "subscribe_msg_popup_event", [
        {"TemplateId": "TPL-MEETING", "SubscribeStatusString": "accept", "PopupScene": "2"},
        {"TemplateId": "TPL-POINTS", "SubscribeStatusString": "reject", "PopupScene": "2"},
    ], now)
    response = wechat_post(client, popup)
    assert response.status_code == 200 and response.content == b"success"
    assert subscribe_choice(openid="oDOC", template_id="TPL-MEETING") == "accept"
    assert subscribe_choice(openid="oDOC", template_id="TPL-POINTS") == "reject"
    assert WeChatSubscribeChoice.objects.get(template_id="TPL-MEETING").popup_scene == "2"
    change = subscribe_event("oDOC", "subscribe_msg_change_event",
                             [{"TemplateId": "TPL-MEETING", "SubscribeStatusString": "reject"}], now + 10)
    assert wechat_post(client, change).status_code == 200
    assert subscribe_choice(openid="oDOC", template_id="TPL-MEETING") == "reject"
    history = list(WeChatSubscribeChoice.objects.filter(openid="oDOC", template_id="TPL-MEETING")
                   .order_by("occurred_at").values_list("source", "status"))
    assert history == [("popup", "accept"), ("change", "reject")]
    assert AuditEntry.objects.filter(action="messaging.wechat_subscribe_choice").count() == 2
    assert subscribe_choice(openid="oOTHER", template_id="TPL-MEETING") is None


def test_an_older_event_arriving_late_does_not_win(fake_wechat, wechat_post):
    client = Client()
    now = int(time.time()) - 100
    wechat_post(client, subscribe_event("oLATE", "subscribe_msg_change_event",
                                        [{"TemplateId": "TPL", "SubscribeStatusString": "reject"}], now))
    wechat_post(client, subscribe_event("oLATE", "subscribe_msg_popup_event",
                                        [{"TemplateId": "TPL", "SubscribeStatusString": "accept"}], now - 60))
    assert subscribe_choice(openid="oLATE", template_id="TPL") == "reject"
    assert WeChatSubscribeChoice.objects.filter(openid="oLATE").count() == 2


def test_a_repeated_event_is_recorded_once(fake_wechat, wechat_post):
    client = Client()
    body = subscribe_event("oDUP", "subscribe_msg_popup_event",
                           [{"TemplateId": "TPL", "SubscribeStatusString": "accept", "PopupScene": "0"}])
    assert wechat_post(client, body).status_code == 200
    assert wechat_post(client, body).status_code == 200  # WeChat's retry: a fresh nonce, the same event
    replay = client.post(f"/webhooks/wechat/?{urlencode(wechat_post.last_query)}", data=body,
                         content_type="text/xml")
    assert replay.status_code == 403  # the same nonce again: a replay
    assert WeChatSubscribeChoice.objects.count() == 1
    assert AuditEntry.objects.filter(action="messaging.wechat_subscribe_choice").count() == 1


def test_forged_and_malformed_events_change_nothing(fake_wechat, wechat_post):
    client = Client()
    good = [{"TemplateId": "TPL", "SubscribeStatusString": "accept"}]
    assert wechat_post(client, subscribe_event("oF", "subscribe_msg_popup_event", good), forge=True).status_code == 403
    assert wechat_post(client, subscribe_event("", "subscribe_msg_popup_event", good)).status_code == 400
    assert wechat_post(client, subscribe_event("oF", "subscribe_msg_popup_event", [])).status_code == 400
    no_template = [{"SubscribeStatusString": "accept"}]
    assert wechat_post(client, subscribe_event("oF", "subscribe_msg_popup_event", no_template)).status_code == 400
    broken = subscribe_event("oF", "subscribe_msg_popup_event", good).replace("</List>", "")
    assert wechat_post(client, broken).status_code == 400
    bad_time = subscribe_event("oF", "subscribe_msg_change_event", good).replace(
        "<CreateTime>", "<CreateTime>x", 1)
    assert wechat_post(client, bad_time).status_code == 400
    entity = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "accept">]>'
              + subscribe_event("oF", "subscribe_msg_popup_event", good).replace("accept", "&e;"))
    assert wechat_post(client, entity).status_code == 400
    unknown_status = [{"TemplateId": "TPL", "SubscribeStatusString": "maybe"}]
    assert wechat_post(client, subscribe_event("oF", "subscribe_msg_popup_event", unknown_status)).status_code == 200
    assert not WeChatSubscribeChoice.objects.exists()


def test_popup_event_in_safe_mode(fake_wechat, wechat_post):
    body = subscribe_event("oAES", "subscribe_msg_popup_event",
                           [{"TemplateId": "TPL", "SubscribeStatusString": "accept", "PopupScene": "1"}])
    assert wechat_post(Client(), body, encrypted=True).status_code == 200
    assert subscribe_choice(openid="oAES", template_id="TPL") == "accept"


def test_the_sent_event_reports_the_subscription_notice_delivered(fake_wechat, wechat_post, deliver_outbox,
                                                                  settings):
    from engage.messaging.templates import MessageTemplate, register

    register(MessageTemplate(key="test_subscribe_notice", sms={"zh-hans": "{x}"}, wechat_subscribe_template_id="TPL",
                             wechat_fields={"thing1": "{x}"}))
    delivered = message_enqueue(channel="wechat_subscribe", to="oSENT", template_key="test_subscribe_notice",
                                params={"x": "会议提醒"}, idempotency_key="sub:1")
    blocked = message_enqueue(channel="wechat_subscribe", to="oSENT", template_key="test_subscribe_notice",
                              params={"x": "会议提醒"}, idempotency_key="sub:2")
    deliver_outbox()
    delivered.refresh_from_db()
    blocked.refresh_from_db()
    body = subscribe_event("oSENT", "subscribe_msg_sent_event", [
        {"TemplateId": "TPL", "MsgID": delivered.provider_message_id, "ErrorCode": "0", "ErrorStatus": "success"},
        {"TemplateId": "TPL", "MsgID": blocked.provider_message_id, "ErrorCode": "43101",
         "ErrorStatus": "failed:user block"},
    ])
    assert wechat_post(Client(), body).status_code == 200
    delivered.refresh_from_db()
    blocked.refresh_from_db()
    assert delivered.status == OutboundMessage.Status.DELIVERED
    assert blocked.status == OutboundMessage.Status.UNDELIVERED and blocked.error_code == "43101"
    assert not WeChatSubscribeChoice.objects.exists()
