"""Sending through the real twilio and wechatpy clients against the fake providers on 127.0.0.1."""

import threading

import pytest
from django.db import connection

from engage.core.crypto import lookup_hash
from engage.messaging.models import OutboundMessage
from engage.messaging.outcomes import register_outcome_handler, unregister_outcome_handler
from engage.messaging.services import message_deliver_now, message_enqueue

from .fixtures_templates import PARAMS

Status = OutboundMessage.Status


def sms(key="k1", to="+8613800138000", **kwargs):
    return message_enqueue(channel="sms", to=to, template_key="test_reminder", params=PARAMS,
                           idempotency_key=key, **kwargs)


def wechat(key="w1", to="oOPENID-0001", **kwargs):
    return message_enqueue(channel="wechat_template", to=to, template_key="test_reminder", params=PARAMS,
                           idempotency_key=key, **kwargs)


@pytest.mark.django_db
def test_sms_is_sent_through_twilio_with_callback_and_validity(fake_twilio):
    message = sms()
    message = message_deliver_now(message_id=message.pk)
    assert message.status == Status.SENT
    assert message.attempts == 1
    [sent] = fake_twilio.sent
    assert sent["To"] == "+8613800138000"
    assert sent["Body"] == "【Engage】请在08:00服用二甲双胍。"
    assert sent["MessagingServiceSid"].startswith("MG")
    assert sent["StatusCallback"] == f"https://engage.test/webhooks/twilio/status/?m={message.pk}"
    assert sent["ValidityPeriod"] == "14400"
    assert message.provider_message_id == sent["Sid"]


@pytest.mark.django_db
def test_recipient_is_encrypted_at_rest_and_hashed(fake_twilio):
    message = sms()
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipient, recipient_hash, recipient_masked FROM messaging_outboundmessage")
        raw, digest, masked = cursor.fetchone()
    assert "13800138000" not in raw
    assert digest == lookup_hash("+8613800138000")
    assert masked == "+86138****8000"
    assert OutboundMessage.objects.get(pk=message.pk).recipient == "+8613800138000"


@pytest.mark.django_db
def test_wechat_template_passes_client_msg_id_and_shares_token(fake_wechat):
    first = message_deliver_now(message_id=wechat("w1").pk)
    second = message_deliver_now(message_id=wechat("w2").pk)
    assert first.status == second.status == Status.SENT
    assert [m["client_msg_id"] for m in fake_wechat.sent] == ["w1", "w2"]
    assert fake_wechat.sent[0]["data"] == {"thing1": {"value": "二甲双胍"}, "time2": {"value": "08:00"}}
    assert fake_wechat.sent[0]["url"] == "https://engage.test/r/abc"
    assert fake_wechat.tokens_issued == 1  # the token lives in Redis, fetched once
    assert first.provider_message_id == str(fake_wechat.sent[0]["msgid"])


@pytest.mark.django_db
def test_wechat_subscription_notice(fake_wechat):
    message = message_enqueue(channel="wechat_subscribe", to="oOPENID-1", template_key="test_reminder",
                              params=PARAMS, idempotency_key="s1")
    assert message_deliver_now(message_id=message.pk).status == Status.SENT
    assert fake_wechat.sent[0]["path"].endswith("/message/subscribe/bizsend")


@pytest.mark.django_db(transaction=True)
def test_duplicate_task_deliveries_send_once(fake_twilio):
    message = sms()
    barrier = threading.Barrier(4)

    def deliver():
        barrier.wait()
        try:
            message_deliver_now(message_id=message.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(fake_twilio.sent) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1


@pytest.mark.django_db
def test_transient_error_requeues_with_backoff_then_sends(fake_twilio, deliver_outbox):
    fake_twilio.script(("error", 500, 20500), ("error", 429, 20429))
    message = message_deliver_now(message_id=sms().pk)
    assert message.status == Status.QUEUED and message.error_code == "20500"
    assert message.next_attempt_at is not None and message.provider_call_started_at is None
    assert deliver_outbox() == 0  # not due yet
    deliver_outbox(include_later=True)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.error_code == "20429"
    deliver_outbox(include_later=True)
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 3
    assert len(fake_twilio.sent) == 1


@pytest.mark.django_db
def test_transient_errors_stop_after_max_attempts(fake_twilio, deliver_outbox, settings):
    settings.ENGAGE_MESSAGE_MAX_ATTEMPTS = 2
    fake_twilio.script(("error", 503, 20503), ("error", 503, 20503), ("error", 503, 20503))
    message = sms()
    deliver_outbox()
    deliver_outbox(include_later=True)
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.attempts == 2
    assert deliver_outbox(include_later=True) == 0


@pytest.mark.parametrize("code", [21610, 21211, 21614])
@pytest.mark.django_db
def test_permanent_twilio_errors_are_never_retried(fake_twilio, deliver_outbox, code):
    fake_twilio.script(("error", 400, code))
    message = message_deliver_now(message_id=sms().pk)
    assert message.status == Status.FAILED and message.error_code == str(code)
    assert deliver_outbox(include_later=True) == 0
    assert len(fake_twilio.requests) == 1


@pytest.mark.django_db
def test_timeout_is_unknown_and_never_resent(fake_twilio, deliver_outbox):
    fake_twilio.script("hang")
    message = message_deliver_now(message_id=sms().pk)
    assert message.status == Status.UNKNOWN and message.error_code == "timeout"
    fake_twilio.release()
    assert deliver_outbox(include_later=True) == 0
    assert message_deliver_now(message_id=message.pk).status == Status.UNKNOWN
    assert len([r for r in fake_twilio.requests if r.method == "POST"]) == 1


@pytest.mark.django_db
def test_connection_refused_is_transient(fake_twilio, settings):
    settings.ENGAGE_TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    message = message_deliver_now(message_id=sms().pk)
    assert message.status == Status.QUEUED and message.error_code == "connect_error"


@pytest.mark.django_db
def test_wechat_system_busy_is_transient_and_http_5xx_too(fake_wechat, deliver_outbox):
    fake_wechat.script(("errcode", -1), ("http", 502))
    message = wechat()
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.error_code == "-1"
    deliver_outbox(include_later=True)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.error_code == "http_502"
    deliver_outbox(include_later=True)
    message.refresh_from_db()
    assert message.status == Status.SENT and len(fake_wechat.sent) == 1


@pytest.mark.parametrize("code", [43004, 43101, 40003])
@pytest.mark.django_db
def test_wechat_unreachable_falls_back_to_sms_once(fake_wechat, fake_twilio, deliver_outbox, code):
    fake_wechat.script(("errcode", code))
    message = wechat(fallback_sms_to="+8613900139000", purpose="dose")
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.error_code == str(code)
    [fallback] = message.fallbacks.all()
    assert fallback.channel == "sms" and fallback.idempotency_key == "w1:sms" and fallback.purpose == "dose"
    deliver_outbox()
    assert [m["To"] for m in fake_twilio.sent] == ["+8613900139000"]
    assert OutboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_wechat_unreachable_without_fallback_number_just_fails(fake_wechat, fake_twilio, deliver_outbox):
    fake_wechat.script(("errcode", 43004))
    message = wechat()
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert OutboundMessage.objects.count() == 1 and fake_twilio.sent == []


@pytest.mark.django_db
def test_wechat_permanent_non_reachability_error_has_no_fallback(fake_wechat, fake_twilio, deliver_outbox):
    fake_wechat.script(("errcode", 40037))  # invalid template id
    message = wechat(fallback_sms_to="+8613900139000")
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.FAILED and OutboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_outcome_handlers_run_after_commit_for_each_change(fake_twilio):
    seen = []

    def handler(message):
        seen.append((message.pk, message.status))

    register_outcome_handler(handler)
    register_outcome_handler(handler)  # registering twice is harmless
    try:
        fake_twilio.script(("error", 400, 21610))
        failed = sms("a")
        sent = sms("b")
        message_deliver_now(message_id=failed.pk)
        message_deliver_now(message_id=sent.pk)
    finally:
        unregister_outcome_handler(handler)
    assert seen == [(failed.pk, "failed"), (sent.pk, "sent")]


@pytest.mark.django_db
def test_bad_enqueue_input_is_refused():
    from engage.errors import DomainError

    with pytest.raises(DomainError) as exc:
        message_enqueue(channel="fax", to="+86", template_key="test_reminder", params=PARAMS)
    assert exc.value.code == "unknown_channel"
    with pytest.raises(DomainError) as exc:
        message_enqueue(channel="sms", to=" ", template_key="test_reminder", params=PARAMS)
    assert exc.value.code == "recipient_missing"
    with pytest.raises(DomainError) as exc:
        message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params={})
    assert exc.value.code == "template_params_missing"
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_wechat_timeout_is_unknown(fake_wechat, deliver_outbox):
    message = wechat()
    message_deliver_now(message_id=message.pk)  # fetches the token first so the hang hits the send
    fake_wechat.script("hang")
    second = message_deliver_now(message_id=wechat("w2").pk)
    assert second.status == Status.UNKNOWN
    fake_wechat.release()
    assert deliver_outbox(include_later=True) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_fetch_one_wechat_token(fake_wechat):
    from engage.messaging.wechat import WeChatSender

    barrier = threading.Barrier(4)
    tokens = []

    def work():
        sender = WeChatSender()  # a client of its own, as in another process
        barrier.wait()
        tokens.append(sender.client.access_token)

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert fake_wechat.tokens_issued == 1 and set(tokens) == {"TOKEN-1"}


@pytest.mark.django_db
def test_invalid_token_is_refreshed_once_and_the_send_retried(fake_wechat):
    first = message_deliver_now(message_id=wechat("w1").pk)
    fake_wechat.tokens_issued += 1  # WeChat voided our token (someone fetched a new one elsewhere)
    second = message_deliver_now(message_id=wechat("w2").pk)
    assert first.status == second.status == Status.SENT
    assert fake_wechat.tokens_issued == 3 and len(fake_wechat.sent) == 2
