"""Webhooks signed as Twilio and WeChat sign them; forged, malformed, oversized, unknown and repeated input."""

import time

import pytest
from django.test import Client

from engage.messaging.inbound import handlers as inbound_handlers
from engage.messaging.inbound import register_inbound_handler, unregister_inbound_handler
from engage.messaging.models import InboundMessage, OutboundMessage
from engage.messaging.services import message_deliver_now, message_enqueue
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.fakes.fixtures import decrypt_reply, wechat_query

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def replies():
    """An inbound handler recording what it got and answering "got <text>" to text messages."""
    seen = []

    def handler(inbound):
        seen.append(inbound)
        return f"got {inbound.text}" if inbound.kind == "text" else None

    others = inbound_handlers()
    for other in others:  # the reminders app's handler would answer first
        unregister_inbound_handler(other)
    register_inbound_handler(handler)
    yield seen
    unregister_inbound_handler(handler)
    for other in others:
        register_inbound_handler(other)


@pytest.fixture
def sent_sms(fake_twilio):
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS,
                              idempotency_key="s1")
    return message_deliver_now(message_id=message.pk)


def status_params(message, status, **extra):
    return {"MessageSid": message.provider_message_id, "MessageStatus": status, "AccountSid": "AC1", **extra}


def status_path(message):
    return f"/webhooks/twilio/status/?m={message.pk}"


def test_twilio_status_delivered(client, twilio_post, sent_sms):
    response = twilio_post(client, status_path(sent_sms), status_params(sent_sms, "delivered"))
    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.DELIVERED and sent_sms.delivered_at is not None


def test_twilio_status_forged_or_unsigned_is_refused(client, twilio_post, sent_sms):
    forged = twilio_post(client, status_path(sent_sms), status_params(sent_sms, "delivered"), signature="bogus=")
    unsigned = client.post(status_path(sent_sms), status_params(sent_sms, "delivered"))
    # signed for other parameters: the body was tampered with
    from tests.fakes.fixtures import twilio_signature

    sig = twilio_signature(f"https://engage.test{status_path(sent_sms)}", status_params(sent_sms, "sent"),
                           "twilio-auth-token")
    tampered = twilio_post(client, status_path(sent_sms), status_params(sent_sms, "undelivered"), signature=sig)
    assert forged.status_code == unsigned.status_code == tampered.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.SENT


def test_twilio_status_late_and_duplicate_callbacks_never_move_backwards(client, twilio_post, sent_sms):
    for status in ("delivered", "delivered", "sent", "sending", "queued", "undelivered", "failed"):
        response = twilio_post(client, status_path(sent_sms), status_params(sent_sms, status))
        assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.DELIVERED


def test_twilio_status_undelivered_keeps_error_code(client, twilio_post, sent_sms):
    twilio_post(client, status_path(sent_sms), status_params(sent_sms, "undelivered", ErrorCode="30003"))
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.UNDELIVERED and sent_sms.error_code == "30003"


def test_twilio_status_for_unknown_message_is_harmless(client, twilio_post, sent_sms):
    response = twilio_post(client, "/webhooks/twilio/status/?m=999999",
                           {"MessageSid": "SMdoesnotexist", "MessageStatus": "delivered"})
    other = twilio_post(client, "/webhooks/twilio/status/", {"MessageSid": "SMnope", "MessageStatus": "failed"})
    # our id with somebody else's sid does not touch our message
    mismatch = twilio_post(client, status_path(sent_sms), {"MessageSid": "SMother", "MessageStatus": "failed"})
    assert response.status_code == other.status_code == mismatch.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.SENT


def test_twilio_status_malformed_posts(client, twilio_post, sent_sms, settings):
    missing = twilio_post(client, status_path(sent_sms), {"MessageStatus": "delivered"})
    empty = twilio_post(client, status_path(sent_sms), {})
    settings.ENGAGE_WEBHOOK_MAX_BYTES = 100
    big = twilio_post(client, status_path(sent_sms), status_params(sent_sms, "delivered", Body="x" * 500))
    get = client.get(status_path(sent_sms))
    assert missing.status_code == empty.status_code == big.status_code == 400
    assert get.status_code == 405
    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.SENT


def test_twilio_status_callback_before_send_result_is_recorded(client, twilio_post, fake_twilio):
    """The callback may overtake our own write: matched on our id, it moves the message and keeps the sid."""
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS)
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.SENDING)
    twilio_post(client, status_path(message), {"MessageSid": "SMearly", "MessageStatus": "delivered"})
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.provider_message_id == "SMearly"


def inbound(sid="SMin1", body="1", sender="+8613800138000", **extra):
    return {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, **extra}


def test_twilio_inbound_sms_reaches_handlers_and_replies_twiml(client, twilio_post, fake_twilio, replies):
    response = twilio_post(client, "/webhooks/twilio/inbound/", inbound(body="已服"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert "<Message>got 已服</Message>" in response.content.decode()
    [got] = replies
    assert (got.channel, got.sender, got.text, got.kind, got.provider_id) == (
        "sms", "+8613800138000", "已服", "text", "SMin1")
    row = InboundMessage.objects.get()
    assert row.sender == "+8613800138000" and row.reply == "got 已服"


def test_twilio_inbound_duplicate_is_stored_once_and_replied_the_same(client, twilio_post, fake_twilio, replies):
    first = twilio_post(client, "/webhooks/twilio/inbound/", inbound())
    second = twilio_post(client, "/webhooks/twilio/inbound/", inbound())
    assert first.content == second.content
    assert InboundMessage.objects.count() == 1 and len(replies) == 1


@pytest.mark.parametrize("body,opt,kind", [
    ("STOP", "", "opt_out"), ("退订", "", "opt_out"), ("td", "", "opt_out"), ("stop", "STOP", "opt_out"),
    ("START", "START", "opt_in"), ("help", "HELP", "text"), ("stop taking it?", "", "text"),
])
def test_twilio_opt_out_words_and_notices(client, twilio_post, fake_twilio, replies, body, opt, kind):
    extra = {"OptOutType": opt} if opt else {}
    twilio_post(client, "/webhooks/twilio/inbound/", inbound(body=body, **extra))
    assert replies[0].kind == kind
    assert InboundMessage.objects.get().kind == kind


def test_twilio_inbound_forged_and_malformed(client, twilio_post, fake_twilio, replies):
    forged = twilio_post(client, "/webhooks/twilio/inbound/", inbound(), signature="AAAA")
    no_sender = twilio_post(client, "/webhooks/twilio/inbound/", {"MessageSid": "SM1", "Body": "1"})
    no_sid = twilio_post(client, "/webhooks/twilio/inbound/", {"From": "+8613800138000", "Body": "1"})
    assert forged.status_code == 403
    assert no_sender.status_code == no_sid.status_code == 400
    assert InboundMessage.objects.count() == 0 and replies == []


def test_twilio_inbound_refused_without_auth_token(client, twilio_post, fake_twilio, settings):
    response = twilio_post(client, "/webhooks/twilio/inbound/", inbound())
    settings.TWILIO_AUTH_TOKEN = ""
    refused = twilio_post(client, "/webhooks/twilio/inbound/", inbound(sid="SM2"), signature=response and "x")
    assert refused.status_code == 403


def wechat_xml(body: str, sender="oOPENID-1") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>{body}</xml>")


def text_xml(content, msg_id="1001", sender="oOPENID-1"):
    return wechat_xml(f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
                      f"<MsgId>{msg_id}</MsgId>", sender)


def event_xml(event, extra=""):
    return wechat_xml(f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}")


def test_wechat_url_verification(client, fake_wechat, settings):
    ok = client.get("/webhooks/wechat/", wechat_query(settings.WECHAT_TOKEN, echostr="hello"))
    forged = client.get("/webhooks/wechat/", {**wechat_query(settings.WECHAT_TOKEN, echostr="hello"), "signature": "x"})
    assert ok.status_code == 200 and ok.content == b"hello"
    assert forged.status_code == 403


def test_wechat_text_reply_within_the_request(client, wechat_post, fake_wechat, replies):
    response = wechat_post(client, text_xml("1"))
    assert response.status_code == 200
    assert "<Content><![CDATA[got 1]]></Content>" in response.content.decode()
    assert "<ToUserName><![CDATA[oOPENID-1]]></ToUserName>" in response.content.decode()
    [got] = replies
    assert (got.channel, got.sender, got.kind) == ("wechat", "oOPENID-1", "text")
    again = wechat_post(client, text_xml("1"))  # WeChat retries when it did not hear back in time
    assert again.content.count(b"got 1") == 1 and InboundMessage.objects.count() == 1 and len(replies) == 1


def test_wechat_encrypted_mode(client, wechat_post, fake_wechat, replies, settings):
    response = wechat_post(client, text_xml("退订"), encrypted=True)
    assert response.status_code == 200 and replies[0].kind == "opt_out"
    response = wechat_post(client, text_xml("hello", msg_id="1002"), encrypted=True)
    assert "<Content><![CDATA[got hello]]></Content>" in decrypt_reply(settings, response)
    forged = wechat_post(client, text_xml("x", msg_id="1003"), encrypted=True, forge=True)
    assert forged.status_code == 403 and len(replies) == 2


def test_wechat_subscribe_unsubscribe_and_scene(client, wechat_post, fake_wechat, replies):
    wechat_post(client, event_xml("subscribe", "<EventKey><![CDATA[qrscene_prog-7]]></EventKey>"
                                               "<Ticket><![CDATA[t]]></Ticket>"))
    wechat_post(client, event_xml("unsubscribe"))
    assert [(r.kind, r.scene) for r in replies] == [("subscribe", "prog-7"), ("unsubscribe", "")]
    assert list(InboundMessage.objects.order_by("pk").values_list("kind", flat=True)) == ["subscribe", "unsubscribe"]


def test_wechat_template_delivery_reports(client, wechat_post, fake_wechat, fake_twilio):
    ok = message_enqueue(channel="wechat_template", to="oOPENID-1", template_key="test_reminder", params=PARAMS,
                         idempotency_key="w1")
    blocked = message_enqueue(channel="wechat_template", to="oOPENID-2", template_key="test_reminder",
                              params=PARAMS, idempotency_key="w2", fallback_sms_to="+8613900139000")
    ok, blocked = (message_deliver_now(message_id=m.pk) for m in (ok, blocked))

    def report(message, status):
        return wechat_post(client, event_xml("TEMPLATESENDJOBFINISH",
                                             f"<MsgID>{message.provider_message_id}</MsgID>"
                                             f"<Status><![CDATA[{status}]]></Status>"))

    assert report(ok, "success").content == b"success"
    report(blocked, "failed:user block")
    report(ok, "failed:user block")  # late and contradictory: ignored
    report(blocked, "success")
    ok.refresh_from_db()
    blocked.refresh_from_db()
    assert ok.status == Status.DELIVERED
    assert blocked.status == Status.UNDELIVERED and blocked.error_code == "user_block"
    assert blocked.fallbacks.get().channel == "sms"
    unknown = wechat_post(client, event_xml("TEMPLATESENDJOBFINISH", "<MsgID>424242</MsgID>"
                                                                     "<Status><![CDATA[success]]></Status>"))
    assert unknown.status_code == 200


@pytest.mark.parametrize("body", [
    "<xml><MsgType>text</MsgType", "not xml at all", "<xml></xml>", "",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>&a;</MsgType></xml>',
    "<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content></xml>",  # no sender
])
def test_wechat_malformed_xml_is_400(client, wechat_post, fake_wechat, replies, body):
    response = wechat_post(client, body)
    assert response.status_code == 400
    assert InboundMessage.objects.count() == 0 and replies == []


def test_wechat_forged_unsigned_and_oversized(client, wechat_post, fake_wechat, replies, settings):
    forged = wechat_post(client, text_xml("1"), forge=True)
    unsigned = client.post("/webhooks/wechat/", data=text_xml("1"), content_type="text/xml")
    settings.ENGAGE_WEBHOOK_MAX_BYTES = 200
    big = wechat_post(client, text_xml("x" * 1000))
    assert forged.status_code == unsigned.status_code == 403
    assert big.status_code == 400
    assert InboundMessage.objects.count() == 0 and replies == []


def test_inbound_sender_is_encrypted_at_rest(client, wechat_post, fake_wechat, twilio_post, fake_twilio):
    from django.db import connection

    twilio_post(client, "/webhooks/twilio/inbound/", inbound(body="hi"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT sender, sender_masked FROM messaging_inboundmessage")
        raw, masked = cursor.fetchone()
    assert "13800138000" not in raw and masked == "+86138****8000"


def test_a_failing_handler_stores_nothing_so_the_provider_retries(twilio_post, fake_twilio, replies):
    def broken(inbound):
        raise RuntimeError("boom")

    register_inbound_handler(broken)
    try:
        response = twilio_post(Client(raise_request_exception=False), "/webhooks/twilio/inbound/", inbound())
    finally:
        unregister_inbound_handler(broken)
    assert response.status_code == 500
    assert InboundMessage.objects.count() == 0
    retried = twilio_post(Client(), "/webhooks/twilio/inbound/", inbound())
    assert retried.status_code == 200 and InboundMessage.objects.count() == 1


def test_status_callback_settles_an_unknown_message(client, twilio_post, fake_twilio):
    """A send that timed out (unknown) but reached Twilio is resolved by Twilio's own callback, matched on our id."""
    fake_twilio.script("hang")
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS)
    message = message_deliver_now(message_id=message.pk)
    assert message.status == Status.UNKNOWN
    fake_twilio.release()
    twilio_post(client, status_path(message), {"MessageSid": "SMlate", "MessageStatus": "delivered"})
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.provider_message_id == "SMlate"


def test_wechat_encrypted_post_without_msg_signature_is_refused(client, fake_wechat, settings, replies):
    from urllib.parse import urlencode

    query = wechat_query(settings.WECHAT_TOKEN, encrypt_type="aes")
    response = client.post(f"/webhooks/wechat/?{urlencode(query)}", data=text_xml("1"), content_type="text/xml")
    assert response.status_code == 403 and replies == []


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("age", [int(time.time()) - 1262304000, 301, -301])  # signed in 2010; 5 min past; future
def test_wechat_callback_outside_the_time_window_is_refused(client, wechat_post, fake_wechat, replies, age,
                                                           encrypted):
    stale = wechat_post(client, text_xml("1"), encrypted=encrypted, timestamp=str(int(time.time()) - age))
    fresh = wechat_post(client, text_xml("1", msg_id="1002"), encrypted=encrypted,
                        timestamp=str(int(time.time()) - (290 if age > 0 else -290)))
    assert stale.status_code == 403 and fresh.status_code == 200
    assert [r.text for r in replies] == ["1"] and InboundMessage.objects.count() == 1


def test_wechat_url_verification_outside_the_time_window_is_refused(client, fake_wechat, settings):
    query = wechat_query(settings.WECHAT_TOKEN, timestamp="1262304000", echostr="hello")
    assert client.get("/webhooks/wechat/", query).status_code == 403


@pytest.mark.parametrize("encrypted", [False, True])
def test_wechat_replayed_callback_is_refused_and_changes_nothing(client, wechat_post, fake_wechat, replies,
                                                                 encrypted):
    first = wechat_post(client, text_xml("1"), encrypted=encrypted)
    query, body = wechat_post.last_query, wechat_post.last_body
    InboundMessage.objects.all().delete()  # a replay must not even re-create what WeChat's MsgId dedupes
    replay = wechat_post(client, "", query=query, body=body)
    other_body = wechat_post(client, "", query=query, body=text_xml("2", msg_id="1002"))
    assert first.status_code == 200
    assert replay.status_code == other_body.status_code == 403
    assert len(replies) == 1 and InboundMessage.objects.count() == 0


def test_wechat_replayed_url_verification_is_refused(client, fake_wechat, settings):
    query = wechat_query(settings.WECHAT_TOKEN, echostr="hello")
    assert client.get("/webhooks/wechat/", query).status_code == 200
    assert client.get("/webhooks/wechat/", query).status_code == 403


def test_wechat_nonce_is_released_when_the_callback_failed_so_the_retry_gets_through(wechat_post, fake_wechat,
                                                                                     replies):
    def broken(inbound):
        raise RuntimeError("boom")

    register_inbound_handler(broken)
    try:
        failed = wechat_post(Client(raise_request_exception=False), text_xml("1"))
    finally:
        unregister_inbound_handler(broken)
    retried = wechat_post(Client(), "", query=wechat_post.last_query, body=wechat_post.last_body)
    assert failed.status_code == 500 and retried.status_code == 200 and InboundMessage.objects.count() == 1


def test_wechat_plain_mode_is_refused_where_safe_mode_is_required(client, wechat_post, fake_wechat, replies,
                                                                  settings):
    settings.ENGAGE_WECHAT_REQUIRE_SAFE_MODE = True
    plain = wechat_post(client, text_xml("1"))
    safe = wechat_post(client, text_xml("2", msg_id="1002"), encrypted=True)
    assert plain.status_code == 403 and safe.status_code == 200
    assert [r.text for r in replies] == ["2"]


def test_wechat_callback_is_refused_while_nonces_cannot_be_remembered(client, wechat_post, fake_wechat, replies,
                                                                     settings, dead_cache):
    response = wechat_post(client, text_xml("1"))
    assert response.status_code == 403 and replies == [] and InboundMessage.objects.count() == 0
