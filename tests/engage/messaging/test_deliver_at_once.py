"""A single message's task on PostgreSQL outside a transaction: claim and start mark in one statement, the provider
call, the outcome in one more; each outcome the provider can give lands as on the general path, the rate limit
gives the message back unspent, a message a frequency cap may hold goes the general way, and two copies of the task
racing send it once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.messaging.backends import SendResult
from engage.messaging.models import FrequencyCapUse, OutboundMessage
from engage.messaging.outcomes import register_outcome_handler, unregister_outcome_handler
from engage.messaging.services import _mark_sent, message_deliver_now, message_enqueue, messages_deliver_now
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.race import race, raise_first

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db(transaction=True)  # the one-statement path runs outside a transaction only


def sms(key: str, **extra) -> OutboundMessage:
    return message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS,
                           idempotency_key=key, **extra)


def test_enqueue_to_sent_is_three_statements_and_the_handlers_get_the_row_without_a_read(fake_twilio, celery_eager):
    seen = []
    register_outcome_handler(seen.extend, many=True)
    try:
        with CaptureQueriesContext(connection) as queries:
            message = sms("once-1")  # the task runs eagerly: enqueue, claim, call, outcome
    finally:
        unregister_outcome_handler(seen.extend)
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["INSERT", "UPDATE", "UPDATE"], queries.captured_queries
    row = OutboundMessage.objects.get(pk=message.pk)
    [got] = seen
    assert got.pk == row.pk and got.status == row.status == Status.SENT
    assert got.provider_message_id == row.provider_message_id == fake_twilio.sent[0]["Sid"]
    assert got.recipient == row.recipient == "+8613800138000" and got.purpose == row.purpose
    assert got.attempts == row.attempts == 1 and row.provider_call_started_at is not None
    assert got.sent_at == row.sent_at and got.claim_token == row.claim_token == "" and row.secret_params == ""


def test_a_transient_error_requeues_with_backoff_and_a_permanent_one_fails(fake_twilio):
    fake_twilio.script(("error", 500, 20500), ("error", 400, 21610))
    transient = message_deliver_now(message_id=sms("once-t").pk)
    permanent = message_deliver_now(message_id=sms("once-p").pk)
    assert transient.status == Status.QUEUED and transient.attempts == 1 and transient.error_code == "20500"
    assert transient.next_attempt_at > timezone.now() and transient.provider_call_started_at is None
    assert permanent.status == Status.FAILED and permanent.error_code == "21610" and permanent.finished_at
    assert fake_twilio.sent == []


def test_a_timed_out_call_is_unknown_and_not_sent_again(fake_twilio, settings):
    settings.ENGAGE_PROVIDER_TIMEOUT = 0.3
    fake_twilio.script("hang")
    message = message_deliver_now(message_id=sms("once-hang").pk)
    fake_twilio.release()
    assert message.status == Status.UNKNOWN and message.error_code == "timeout"
    assert message_deliver_now(message_id=message.pk).status == Status.UNKNOWN
    assert len(fake_twilio.requests) == 1


def test_an_empty_bucket_gives_the_message_back_unspent(fake_twilio, settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 1)}
    first = message_deliver_now(message_id=sms("once-r1").pk)
    held = message_deliver_now(message_id=sms("once-r2").pk)
    assert first.status == Status.SENT
    assert held.status == Status.QUEUED and held.attempts == 0 and held.provider_call_started_at is None
    assert held.claim_token == "" and held.next_attempt_at > timezone.now() - timedelta(seconds=1)
    assert len(fake_twilio.sent) == 1


def test_a_message_a_cap_may_hold_takes_the_general_way_and_its_slot(fake_twilio, make_user):
    doctor = make_user()
    message = message_deliver_now(message_id=sms("once-cap", user=doctor, category="promotional").pk)
    assert message.status == Status.SENT
    assert FrequencyCapUse.objects.filter(message=message, user=doctor).count() == 1
    held = message_deliver_now(message_id=sms("once-cap-2", user=doctor, category="promotional").pk)  # one a day
    assert held.status == Status.QUEUED and held.error_code == "held_frequency_cap"
    assert len(fake_twilio.sent) == 1


def test_copies_of_a_task_racing_send_once(fake_twilio):
    message = sms("once-race")
    results = raise_first(race(6, lambda i: messages_deliver_now(message_ids=[message.pk])))
    assert sorted(results) == [0, 0, 0, 0, 0, 1]
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1 and len(fake_twilio.sent) == 1


def test_a_status_report_that_overtook_the_outcome_keeps_its_status_and_the_sid_lands(fake_twilio):
    message = sms("once-overtaken")  # queued: the test plays the worker and the status report
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.DELIVERED, provider_message_id="")
    message.refresh_from_db()
    _mark_sent([(message, SendResult(provider_message_id="SMlate"))])
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.provider_message_id == "SMlate"
