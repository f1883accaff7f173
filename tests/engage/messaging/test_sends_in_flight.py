"""Several provider calls in flight at once: SMS on twilio's asynchronous client (aiohttp) in the sender's event
loop, other channels in sender threads — each message settled by the answer to its own request."""

import logging

import pytest

from engage.messaging.models import OutboundMessage
from engage.messaging.services import MessageSpec, messages_deliver_now, messages_enqueue_many
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.engage.messaging.test_concurrency import lease  # noqa: F401  (autouse)
from tests.engage.messaging.test_services import batch_tasks, spec  # noqa: F401  (fixture)

Status = OutboundMessage.Status


def _rows(ids):
    return list(OutboundMessage.objects.filter(pk__in=ids).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_sms_in_flight_each_settle_by_the_answer_to_their_own_request(batch_tasks, fake_twilio, settings):  # noqa: F811
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 4
    fake_twilio.script("ok", ("error", 400, 21610), ("error", 500, 20500), "hang")
    ids = sorted(messages_enqueue_many([spec(i) for i in range(4)], dispatch=False).values())
    try:
        assert messages_deliver_now(message_ids=ids) == 4
    finally:
        fake_twilio.release()
    rows = {m.status: m for m in _rows(ids)}
    assert sorted(rows) == sorted([Status.SENT, Status.FAILED, Status.QUEUED, Status.UNKNOWN])
    accepted = fake_twilio.sent[0]  # the one "ok": the row whose number it was got its Sid
    assert rows[Status.SENT].recipient == accepted["To"] and rows[Status.SENT].provider_message_id == accepted["Sid"]
    assert rows[Status.FAILED].error_code == "21610"
    assert rows[Status.QUEUED].error_code == "20500" and rows[Status.QUEUED].next_attempt_at is not None
    assert rows[Status.UNKNOWN].error_code == "timeout"  # the request left us: never resent
    assert all(m.attempts == 1 for m in rows.values())
    assert len([r for r in fake_twilio.requests if r.method == "POST"]) == 4
    assert {r.headers.get("User-Agent", "").split("/")[0] for r in fake_twilio.requests} == {"twilio-python"}


@pytest.mark.django_db(transaction=True)
def test_sms_in_flight_that_cannot_connect_go_back_to_the_queue(batch_tasks, fake_twilio, settings):  # noqa: F811
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 3
    settings.ENGAGE_TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 3
    rows = _rows(ids)
    assert {(m.status, m.error_code) for m in rows} == {(Status.QUEUED, "connect_error")}
    assert all(m.provider_call_started_at is None and m.next_attempt_at is not None for m in rows)


@pytest.mark.django_db(transaction=True)
def test_sms_and_wechat_in_flight_together(batch_tasks, fake_twilio, fake_wechat, settings):  # noqa: F811
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 4
    wechat = [MessageSpec(channel="wechat_template", to=f"oOPENID-{i:04d}", template_key="test_reminder",
                          params=PARAMS, idempotency_key=f"wx:{i}") for i in range(2)]
    ids = sorted(messages_enqueue_many([spec(0), spec(1), *wechat], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 4
    assert {m.status for m in _rows(ids)} == {Status.SENT}
    assert sorted(m["To"] for m in fake_twilio.sent) == ["+8613800138000", "+8613800138001"]
    assert sorted(m["touser"] for m in fake_wechat.sent) == ["oOPENID-0000", "oOPENID-0001"]


@pytest.mark.django_db(transaction=True)
def test_the_asynchronous_client_keeps_its_connections_between_batches(batch_tasks, fake_twilio, settings):  # noqa: F811
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 4
    for batch in range(3):
        ids = sorted(messages_enqueue_many([spec(10 * batch + i) for i in range(4)], dispatch=False).values())
        assert messages_deliver_now(message_ids=ids) == 4
    assert len(fake_twilio.sent) == 12
    assert len(fake_twilio.connections) <= 4  # one per call in flight, reused by the next batches


@pytest.mark.django_db
def test_twilio_request_logging_stays_quiet_at_the_production_level(fake_twilio, caplog):
    """Twilio's clients log every request's URL and headers at INFO; at the level production runs (INFO) nothing of
    it reaches the log, while their warnings would."""
    from engage.messaging.backends import sms_backend

    caplog.set_level(logging.INFO)  # the root level production runs at; the twilio loggers keep their own
    sms_backend().send("+8613800138000", "test_reminder", PARAMS)
    assert fake_twilio.sent and not [r for r in caplog.records if r.name.startswith("twilio")]
    assert logging.getLogger("twilio.async_http_client").isEnabledFor(logging.WARNING)
