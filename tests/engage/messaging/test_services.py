"""Sending through the real twilio and wechatpy clients against the fake providers on 127.0.0.1."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.core.crypto import lookup_hash
from engage.core.errors import DomainError
from engage.messaging import tasks
from engage.messaging.models import OutboundMessage
from engage.messaging.outcomes import register_outcome_handler, unregister_outcome_handler
from engage.messaging.services import (
    MessageSpec,
    message_deliver_now,
    message_enqueue,
    message_resend,
    message_sweep,
    messages_deliver_now,
    messages_enqueue_many,
)
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.engage.messaging.test_concurrency import after_lease, lease, run_worker  # noqa: F401  (lease: autouse)
from tests.race import race, raise_first

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
    raise_first(race(4, lambda i: message_deliver_now(message_id=message.pk)))
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
    from engage.core.errors import DomainError

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

    senders = [WeChatSender() for _ in range(4)]  # a client of its own each, as in another process
    tokens = raise_first(race(4, lambda i: senders[i].client.access_token))
    assert fake_wechat.tokens_issued == 1 and set(tokens) == {"TOKEN-1"}


@pytest.mark.django_db
def test_invalid_token_is_refreshed_once_and_the_send_retried(fake_wechat):
    first = message_deliver_now(message_id=wechat("w1").pk)
    fake_wechat.tokens_issued += 1  # WeChat voided our token (someone fetched a new one elsewhere)
    second = message_deliver_now(message_id=wechat("w2").pk)
    assert first.status == second.status == Status.SENT
    # The stable token: the refetch gets the current token; nothing new is issued that would void another's.
    assert fake_wechat.tokens_issued == 2 and len(fake_wechat.sent) == 2




def spec(i, **kw) -> MessageSpec:
    fields = {"channel": "sms", "to": f"+86138001380{i:02d}", "template_key": "test_reminder", "params": PARAMS,
              "idempotency_key": f"batch:{i}", **kw}
    return MessageSpec(**fields)


@pytest.fixture
def batch_tasks(monkeypatch):
    """`messages_deliver` tasks recorded instead of sent to the broker: a list of (ids, countdown)."""
    calls = []
    monkeypatch.setattr(tasks.messages_deliver, "apply_async",
                        lambda args=(), kwargs=None, countdown=None, **kw: calls.append((list(args[0]), countdown)))
    return calls


@pytest.mark.django_db(transaction=True)
def test_enqueue_many_writes_each_key_once_in_one_insert_and_dispatches_in_batches(batch_tasks):
    existing = messages_enqueue_many([spec(0, params={**PARAMS, "drug": "旧"})])
    batch_tasks.clear()
    specs = [spec(i) for i in range(120)] + [spec(5)]  # key batch:0 exists, batch:5 twice in this call
    with CaptureQueriesContext(connection) as queries:
        ids = messages_enqueue_many(specs)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "messaging_outboundmessage"')]
    assert len(inserts) == 1
    assert OutboundMessage.objects.count() == 120 and len(ids) == 120
    assert ids["batch:0"] == existing["batch:0"]
    assert OutboundMessage.objects.get(pk=ids["batch:0"]).params["drug"] == "旧"  # an existing row is not changed
    message = OutboundMessage.objects.get(pk=ids["batch:7"])
    assert message.recipient == "+8613800138007" and message.recipient_masked == "+86138****8007"
    assert message.rendered == "【Engage】请在08:00服用二甲双胍。" and message.status == Status.QUEUED
    # after commit, tasks of 50 for the queued ones (the existing one is still queued: the claim makes it harmless)
    assert [len(chunk) for chunk, _ in batch_tasks] == [50, 50, 20]
    assert sorted(pk for chunk, _ in batch_tasks for pk in chunk) == sorted(ids.values())


@pytest.mark.django_db
def test_enqueue_many_refuses_the_whole_batch_on_one_bad_spec(batch_tasks):
    for bad in (spec(3, to="  "), spec(3, channel="fax")):
        with pytest.raises(DomainError):
            messages_enqueue_many([spec(1), spec(2), bad])
    assert OutboundMessage.objects.count() == 0 and batch_tasks == []
    assert messages_enqueue_many([]) == {}


@pytest.mark.django_db
def test_enqueue_many_without_dispatch_leaves_delivery_to_the_caller(batch_tasks, fake_twilio):
    ids = messages_enqueue_many([spec(i) for i in range(3)], dispatch=False)
    assert batch_tasks == []
    assert messages_deliver_now(message_ids=list(ids.values())) == 3
    assert messages_deliver_now(message_ids=list(ids.values())) == 0  # a second delivery of the batch: nothing
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert sorted(m["To"] for m in fake_twilio.sent) == [f"+86138001380{i:02d}" for i in range(3)]


@pytest.mark.django_db
def test_a_batch_settles_each_message_by_its_own_outcome(batch_tasks, fake_twilio, settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 1  # the fake answers its script in arrival order
    fake_twilio.script("ok", ("error", 400, 21610), ("error", 500, 20500), "ok")
    ids = list(messages_enqueue_many([spec(i) for i in range(4)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 4
    by_id = {m.pk: m for m in OutboundMessage.objects.all()}
    sent, blocked, busy, last = (by_id[pk] for pk in sorted(ids))
    assert sent.status == Status.SENT and sent.provider_message_id == fake_twilio.sent[0]["Sid"]
    assert blocked.status == Status.FAILED and blocked.error_code == "21610"
    assert busy.status == Status.QUEUED and busy.error_code == "20500" and busy.next_attempt_at is not None
    assert busy.attempts == 1 and busy.provider_call_started_at is None
    assert last.status == Status.SENT and len(fake_twilio.sent) == 2


@pytest.mark.django_db(transaction=True)
def test_an_empty_bucket_gives_the_rest_of_the_batch_back_in_one_delayed_task(batch_tasks, fake_twilio, settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 2)}
    ids = sorted(messages_enqueue_many([spec(i) for i in range(5)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 2
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["sent", "sent", "queued", "queued", "queued"]
    held = OutboundMessage.objects.filter(pk__in=ids[2:])
    assert all(m.attempts == 0 and m.next_attempt_at and m.claim_token == "" for m in held)
    ((chunk, countdown),) = batch_tasks
    assert chunk == ids[2:] and countdown > 0
    assert len(fake_twilio.sent) == 2


@pytest.mark.django_db(transaction=True)
def test_a_many_handler_hears_about_a_batch_once(batch_tasks, fake_twilio, settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 1  # the fake answers its script in arrival order
    fake_twilio.script("ok", ("error", 400, 21211), "ok")
    heard, single = [], []

    def on_batch(messages):
        heard.append(sorted((m.pk, m.status) for m in messages))

    register_outcome_handler(on_batch, many=True)
    register_outcome_handler(single.append)
    try:
        ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
        messages_deliver_now(message_ids=ids)
    finally:
        unregister_outcome_handler(on_batch)
        unregister_outcome_handler(single.append)
    assert heard == [[(ids[0], "sent"), (ids[1], "failed"), (ids[2], "sent")]]
    assert sorted((m.pk, m.status) for m in single) == heard[0]  # a one-at-a-time handler: once per message


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(fake_twilio, test_database_url,
                                                                        batch_tasks, deliver_outbox, settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 1
    ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
    assert run_worker(ids, test_database_url, crash_at="after_provider_call") == 17  # dies after the first call
    first, second, third = (OutboundMessage.objects.get(pk=pk) for pk in ids)
    assert first.status == Status.SENDING and first.provider_call_started_at is not None
    assert all(m.status == Status.SENDING and m.provider_call_started_at is None for m in (second, third))
    assert len(fake_twilio.sent) == 1
    assert messages_deliver_now(message_ids=ids) == 0  # a redelivered task while the claims stand: nothing
    result = message_sweep(now=after_lease())
    assert result["unknown"] == 1 and result["requeued"] == 2
    deliver_outbox(include_later=True)
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["unknown", "sent", "sent"]
    assert sorted(m["To"] for m in fake_twilio.sent) == ["+8613800138000", "+8613800138001", "+8613800138002"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_with_several_sends_in_flight_leaves_only_that_group_unknown(
        fake_twilio, test_database_url, batch_tasks, deliver_outbox, settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 2
    ids = sorted(messages_enqueue_many([spec(i) for i in range(5)], dispatch=False).values())
    assert run_worker(ids, test_database_url, crash_at="after_provider_call") == 17  # dies after one call returns
    rows = [OutboundMessage.objects.get(pk=pk) for pk in ids]
    assert [m.provider_call_started_at is not None for m in rows] == [True, True, False, False, False]
    assert 1 <= len(fake_twilio.sent) <= 2  # the other call of the group may or may not have reached Twilio
    assert messages_deliver_now(message_ids=ids) == 0  # a redelivered task while the claims stand: nothing
    result = message_sweep(now=after_lease())
    assert result["unknown"] == 2 and result["requeued"] == 3  # started: never resent; not started: requeued
    deliver_outbox(include_later=True)
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["unknown", "unknown", "sent", "sent", "sent"]
    recipients = [m["To"] for m in fake_twilio.sent]
    assert len(recipients) == len(set(recipients))  # nobody got a message twice
    assert set(recipients) >= {f"+86138001380{i:02d}" for i in range(2, 5)}


@pytest.mark.django_db(transaction=True)
def test_several_sends_in_flight_each_settle_once_and_leave_commits_synchronous(batch_tasks, fake_twilio, settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 4
    ids = sorted(messages_enqueue_many([spec(i) for i in range(10)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 10
    assert messages_deliver_now(message_ids=ids) == 0
    rows = list(OutboundMessage.objects.filter(pk__in=ids))
    assert {m.status for m in rows} == {Status.SENT} and all(m.attempts == 1 for m in rows)
    by_to = {m["To"]: m["Sid"] for m in fake_twilio.sent}
    assert len(fake_twilio.sent) == 10 and {m.recipient: m.provider_message_id for m in rows} == by_to
    with connection.cursor() as cursor:  # the relaxed commits of claims and outcomes stay inside their transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_right_after_claiming_a_batch(fake_twilio, test_database_url, batch_tasks, deliver_outbox,
                                                     settings):
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 2  # a batch larger than the sends in flight: claimed, then started
    ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
    assert run_worker(ids, test_database_url, crash_at="after_claim") == 17
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENDING}
    assert message_sweep(now=after_lease())["requeued"] == 3
    deliver_outbox(include_later=True)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(fake_twilio.sent) == 3


def test_secret_params_are_kept_encrypted_until_a_retried_send_delivers_them(db, fake_twilio, deliver_outbox, caplog):
    from engage.messaging.templates import SECRET_MASK

    caplog.set_level("DEBUG")
    fake_twilio.script(("error", 500, 20500))  # the first try fails transiently: the code must survive the retry
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                              params={"code": "918273", "minutes": 5})
    assert message.params == {"code": SECRET_MASK, "minutes": 5} and "918273" not in message.rendered

    def raw_row() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM messaging_outboundmessage WHERE id = %s", [message.pk])
            return str(cursor.fetchone())

    assert "918273" not in raw_row()  # encrypted while queued
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.QUEUED and not fake_twilio.sent and "918273" not in raw_row()
    assert deliver_outbox(include_later=True) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert "918273" in fake_twilio.sent[0]["Body"]  # the phone gets the real code
    assert message.secret_params == "" and "918273" not in raw_row()  # erased once the provider took it
    assert "918273" not in caplog.text


def test_a_message_whose_secret_is_gone_cannot_be_resent(db, fake_twilio, deliver_outbox, role_user):
    fake_twilio.script(("error", 400, 21614))
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                              params={"code": "918273", "minutes": 5})
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.secret_params == ""
    with pytest.raises(DomainError) as exc:
        message_resend(message=message, actor=role_user("marketing"), reason="again")
    assert exc.value.code == "message_secret_gone"
    assert OutboundMessage.objects.count() == 1


def test_outbox_backend_logs_secrets_masked(db, settings, caplog, deliver_outbox):
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.OutboxSmsBackend"
    caplog.set_level("INFO", logger="engage.messaging")
    message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                    params={"code": "918273", "minutes": 5})
    deliver_outbox()
    assert "验证码" in caplog.text and "918273" not in caplog.text


def test_migration_masks_codes_stored_in_plain_text_before(db):
    """Rows written before secret params existed: masked; an unsent one keeps its code encrypted for the send."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("engage.messaging.migrations.0003_secret_params")
    queued = message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                             params={"code": "1", "minutes": 5})
    sent = message_enqueue(channel="sms", to="+8613800138001", template_key="verification_code",
                           params={"code": "1", "minutes": 5})
    for message, code, status in ((queued, "ABCD-EFGH", Status.QUEUED), (sent, "WXYZ-QRST", Status.SENT)):
        OutboundMessage.objects.filter(pk=message.pk).update(
            params={"code": code, "minutes": 5}, rendered=f"验证码是{code}，5分钟", secret_params="", status=status)
    migration.mask_stored_secrets(apps, None)
    queued.refresh_from_db()
    sent.refresh_from_db()
    assert queued.params["code"] == sent.params["code"] == "••••••"
    assert queued.rendered == sent.rendered == "验证码是••••••，5分钟"
    assert queued.send_params()["code"] == "ABCD-EFGH" and sent.secret_params == ""
